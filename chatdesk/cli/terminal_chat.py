"""``ask`` and ``chat`` in a terminal: the app's services, with stdout as the screen.

The turn itself (rows, title, settings, status, stats) is ``chatdesk.services.turns``, the
same code the window runs. This module only picks the conversation and the model, waits for
engine events on the main thread (an ``EventQueue`` is the services' dispatch), prints the
reply as it grows and turns Ctrl-C into Stop (the text so far is kept as ``interrupted``).
The model is the one named on the command line, else the conversation's own.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from chatdesk.cli.engine_commands import SAMPLING_FLAGS, resolve_model
from chatdesk.cli.errors import CLIError
from chatdesk.cli.tool_prompt import TerminalToolReport, terminal_approver
from chatdesk.engine.client import one_line
from chatdesk.engine.types import ContextFitted, EngineError, LoadOptions, ReplyEvent
from chatdesk.services.app_services import AppServices
from chatdesk.services.conversations import ConversationIdError
from chatdesk.services.documents import DocumentsError, Passage, cited
from chatdesk.services.documents_turn import DOCUMENTS_KEY, ERROR_KEY, PASSAGES_KEY
from chatdesk.services.engine_session import ModelState, load_options
from chatdesk.services.events import EventQueue
from chatdesk.services.model_choices import display_name
from chatdesk.services.remote_engines import (
    parse_remote_model_key,
    remote_model_key,
)
from chatdesk.services.settings import context_cost
from chatdesk.services.tool_turns import ALL_TOOLS, tool_message, tool_state
from chatdesk.services.tools import ToolRun, ToolsError
from chatdesk.services.turns import ChatError, Turn
from chatdesk.services.types import Conversation, StoreError
from chatdesk.services.warming import warm_conversation

log = logging.getLogger("chatdesk.cli")
STOP_WAIT_S = 30
SAVE_WAIT_S = 60  # how long a reply the disk refused is retried before giving up
SAVE_RETRY_S = 1.0


class TerminalChat:
    """One conversation and one loaded model, driven from a terminal."""

    def __init__(self, args: argparse.Namespace, services: AppServices) -> None:
        self.args = args
        self.services = services
        self.events = EventQueue()
        self.out: TextIO = sys.stdout
        self.output_closed = False
        self.conversation: Conversation | None = None
        services.set_dispatch(self.events)
        services.turns.add_listener(self)
        services.turns.add_event_hook(self._note_dropped)
        self.last_finished: Turn | None = None
        self.tools: list[str] | str | None = None

    def _setup_tools(self, wanted: str | None, yes: bool) -> list[str] | str | None:
        """``--tools a,b`` (or ``all``): checked names; approval by prompt, or ``--yes``."""
        if not wanted:
            return None
        names: list[str] | str = ALL_TOOLS
        if wanted.strip() != ALL_TOOLS:
            names = [n.strip() for n in wanted.split(",") if n.strip()]
        try:
            self.services.tools.schemas(None if names == ALL_TOOLS else list(names))
        except ToolsError as error:
            raise CLIError(str(error)) from None
        steps = self.services.tool_turns
        steps.approved_by, steps.approve = ("--yes", None) if yes else (None, terminal_approver())
        report = TerminalToolReport()

        def show(_turn: Turn, run: ToolRun) -> None:
            report.on_tool_started(run.call)
            report.on_message(tool_message(run))

        steps.on_run = show
        return names

    @classmethod
    def open(cls, args: argparse.Namespace) -> TerminalChat:
        """Open the database, find the conversation, start the engine and load the model."""
        try:
            services = AppServices.create()
        except StoreError as error:
            raise CLIError(f"cannot open the conversation database: {error}") from None
        session = cls(args, services)
        try:
            session.tools = session._setup_tools(args.tools, args.yes)
            if args.conversation:
                session.conversation = session.find_conversation(args.conversation)
            session.load(session.model_path())
        except BaseException:
            session.close()
            raise
        return session

    def find_conversation(self, wanted: str) -> Conversation:
        """The conversation ``wanted`` names (the one id rule: ``ConversationsService``)."""
        conversations = self.services.conversations
        try:
            return conversations.conversation(conversations.resolve_id(wanted))
        except ConversationIdError as error:
            raise CLIError(str(error)) from None

    def model_path(self) -> str:
        """The model named on the command line (a file, or a remote engine's model id as a
        remote model key), else the conversation's."""
        engine = getattr(self.args, "engine", None)
        if engine:
            if not self.args.model:
                raise CLIError("--engine NAME needs a model id (chatdesk engines models NAME)")
            return remote_model_key(engine, self.args.model)
        if self.args.model:
            return str(resolve_model(self.args.model))
        saved = self.conversation.model if self.conversation else None
        if not saved:
            return str(self._default_model())
        if parse_remote_model_key(saved) is None and not Path(saved).is_file():
            raise CLIError(f"the conversation's model {saved} is not on disk; name a model")
        return saved

    def _default_model(self) -> Path:
        """No model named and no conversation's: the last one used, or the only one."""
        from chatdesk.services.model_choices import ModelNameError, default_model

        try:
            return default_model(self.services.settings)
        except ModelNameError as error:
            raise CLIError(str(error)) from None

    def load(self, path: str) -> None:
        """Load the model with its saved load settings, overridden by --ctx/--gpu-layers/...
        (a remote model: its engine is opened and the server asked for that id)."""
        saved = load_options(
            path,
            self.services.settings.model_settings(path),
            self.services.settings.state_cache_limits(),
        )
        flags = {"n_ctx": self.args.ctx, "n_gpu_layers": self.args.gpu_layers}
        flags["n_threads"] = self.args.threads
        options = LoadOptions(**{**saved.to_dict(), **{k: v for k, v in flags.items() if v}})
        future = self.services.engine.load(path, options)
        self.events.run_until(lambda: self.services.engine.status.state is not ModelState.LOADING)
        error = future.exception() if future is not None else None
        if error is not None or not self.services.engine.ready:
            detail = one_line(error) if isinstance(error, EngineError) else str(error or "")
            raise CLIError(detail or self.services.engine.status.error or "cannot load")
        info = self.services.engine.status.info
        if info is not None and info.trained_context and info.n_ctx > info.trained_context:
            cost = context_cost(info.n_ctx, info.trained_context, info.kv_bytes_per_token)
            print(f"chatdesk: warning: {cost}", file=sys.stderr)

    def conversation_id(self) -> str:
        """The conversation to talk in (created on the first prompt), flags saved on it."""
        given = {k: getattr(self.args, k, None) for k in SAMPLING_FLAGS}
        settings = {k: v for k, v in given.items() if v is not None}
        turns, conversations = self.services.turns, self.services.conversations
        if self.conversation is None:
            self.conversation = turns.new_conversation(self.args.system or "", settings)
        elif settings or self.args.system is not None:
            merged = {**self.conversation.settings, **settings}
            system = self.conversation.system_prompt
            conversations.save_settings(
                self.conversation.id,
                system if self.args.system is None else self.args.system,
                merged,
            )
            self.conversation = conversations.conversation(self.conversation.id)
        return self.conversation.id

    # -- one exchange ---------------------------------------------------------------------
    def exchange(self, prompt: str, extras: dict[str, Any] | None = None) -> Turn:
        """Send ``prompt``, print the reply as it streams (with tools: every step until the
        answer); raises on failure or Ctrl-C.

        ``extras`` go to the turn's request (``{"logprobs": N}`` for token probabilities);
        the chosen tools and document collections are added to them.
        """
        extras = {**(extras or {}), **(self._document_extras() or {})}
        if self.tools:
            extras["tools"] = self.tools
        turn = self.services.turns.send(self.conversation_id(), prompt, extras or None)
        return self._follow(turn)

    def continue_last(self) -> Turn:
        """Carry on writing the conversation's last reply (stopped or out of tokens)."""
        path = self.services.conversations.active_path(self.conversation_id())
        if not path or path[-1].role != "assistant":
            raise CLIError("the conversation does not end with a reply to continue")
        try:
            turn = self.services.turns.continue_reply(path[-1])
        except ChatError as error:
            raise CLIError(str(error)) from None
        self.out.write(path[-1].content)
        return self._follow(turn)

    def _follow(self, turn: Turn) -> Turn:
        """Print the turn's text as it streams until it ends (a turn with tools ends with its
        last step); Ctrl-C stops it."""
        turns = self.services.turns
        self.last_finished = None
        try:
            self.events.run_until(lambda: not turns.streaming)
        except KeyboardInterrupt:
            turns.stop()
            self.events.run_until(lambda: not turns.streaming, timeout=STOP_WAIT_S)
        return self._finish(self.last_finished or turn)

    def turn_started(self, turn: Turn) -> None:
        """Nothing to show yet."""

    def turn_text(self, turn: Turn, delta: str) -> None:
        """Print the new text (a closed pipe stops the reply)."""
        if self.output_closed:
            return
        try:
            self.out.write(delta)
            self.out.flush()
        except BrokenPipeError:
            self.output_closed = True
            self.services.turns.stop()

    def turn_finished(self, turn: Turn) -> None:
        """Remembered (a turn with tools ends with its last step); handled by ``exchange``."""
        self.last_finished = turn

    def _note_dropped(self, turn: Turn, event: ReplyEvent) -> None:
        if isinstance(event, ContextFitted) and event.dropped_count:
            print(
                f"[{event.dropped_count} oldest message(s) left out to fit the "
                f"{event.n_ctx}-token context]",
                file=sys.stderr,
            )

    def _finish(self, turn: Turn) -> Turn:
        with contextlib.suppress(BrokenPipeError):
            self.out.write("\n")
            self.out.flush()
        if turn.save_error:
            self._save_when_possible(turn)
        if turn.failure is not None:
            failure = turn.failure
            raise CLIError(one_line(failure) if isinstance(failure, EngineError) else str(failure))
        report = turn.data.get("sampling_report")
        if report and (self.args.stats or turn.data.get("sampling_not_sent")):
            print(f"[{report}]", file=sys.stderr)  # a remote server: what it got, what not
        if self.args.stats:
            print(describe_stats(turn), file=sys.stderr)
        if turn.error and tool_state(turn) is not None:  # a tool turn cut short (step limit...)
            print(f"[{turn.error}]", file=sys.stderr)
        self._print_sources(turn)
        if turn.status == "interrupted":
            if self.output_closed:
                raise CLIError("the output was closed, so the reply was stopped (and saved)")
            raise KeyboardInterrupt
        return turn

    def _save_when_possible(self, turn: Turn) -> None:
        """The final save failed (a full disk...): say so, retry for SAVE_WAIT_S, then fail."""
        print(
            f"chatdesk: {turn.save_error}; retrying for {SAVE_WAIT_S} s (free some space; "
            "Ctrl-C gives up, the reply is printed above)",
            file=sys.stderr,
        )
        deadline = time.monotonic() + SAVE_WAIT_S
        while not self.services.turns.retry_unsaved():
            if time.monotonic() > deadline:
                raise CLIError(f"{turn.save_error} (the reply is printed above)")
            time.sleep(SAVE_RETRY_S)
        print("chatdesk: the reply is saved now", file=sys.stderr)

    def _document_extras(self) -> dict[str, Any] | None:
        """``--docs NAME``: the collections for the turn, checked before anything is saved."""
        names: list[str] = getattr(self.args, "docs", None) or []
        try:
            for name in names:
                self.services.documents.collection(name)
        except DocumentsError as error:
            raise CLIError(str(error)) from None
        return {DOCUMENTS_KEY: names} if names else None

    def _print_sources(self, turn: Turn) -> None:
        """On stderr after the reply: the passages it cites (all it was given if it cites
        none), ``[1] report.pdf, page 2: /path``."""
        if problem := turn.request.extras.get(ERROR_KEY):
            print(f"chatdesk: documents were not used: {problem}", file=sys.stderr)
        given = [Passage.from_dict(p) for p in turn.request.extras.get(PASSAGES_KEY) or []]
        for passage in cited(turn.text, given) or given:
            print(f"[{passage.number}] {passage.label}: {passage.file}", file=sys.stderr)

    # -- interactive ----------------------------------------------------------------------
    def interactive(self) -> None:
        """Read prompts until /exit or end of input; Ctrl-C stops a reply, not the chat."""
        info = self.services.engine.status.info
        assert info is not None
        print(
            f"{display_name(info.path)} ({info.quantization}, {info.n_ctx}-token context, "
            f"{info.backend}). Type /exit to leave, /continue to carry on a cut-off reply; "
            "Ctrl-C stops a reply.",
            file=sys.stderr,
        )
        while True:
            self._warm()
            try:
                line = input(">>> ")
            except (EOFError, KeyboardInterrupt):
                print(file=sys.stderr)
                return
            if line.strip() in ("/exit", "/quit", "/bye"):
                return
            if line.strip() == "/continue":
                self._interactive_turn(None)
            elif line.strip():
                self._interactive_turn(line)

    def _warm(self) -> None:
        """While the next line is typed, the engine reads what the next turn needs (a
        resumed conversation's history; after a cut, its kept part): a hint, never an error."""
        if self.conversation is None:
            return
        try:
            warm_conversation(self.services.turns, self.conversation.id)
        except Exception:
            log.debug("warming %s failed", self.conversation.id, exc_info=True)

    def _interactive_turn(self, line: str | None) -> None:
        try:
            if line is None:
                self.continue_last()
            else:
                self.exchange(line)
        except KeyboardInterrupt:
            print("[stopped]", file=sys.stderr)
        except CLIError as error:
            print(f"chatdesk: error: {error}", file=sys.stderr)

    def close(self) -> None:
        """Stop the engine host and close the database."""
        self.services.close()

    def __enter__(self) -> TerminalChat:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def describe_stats(turn: Turn) -> str:
    """One line of reply figures (from the stored stats)."""
    s = turn.stats
    ttft = s.get("time_to_first_token_ms")
    first = f"{ttft:.0f} ms" if ttft else "-"
    return (
        f"[{s.get('completion_tokens')} tokens, {s.get('tokens_per_second') or 0:.1f} tok/s, "
        f"first token {first}, prompt {s.get('prompt_tokens')} tokens, "
        f"finish: {s.get('finish_reason')}]"
    )
