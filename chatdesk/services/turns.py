"""The one chat turn: send, regenerate, edit and resend, continue, stop. For window and CLI.

A turn is a user message (new, edited, or the one a reply answers again) and the assistant
reply streamed for it; continuing a cut-off reply streams more text into the same row (the
engine gets the history ending with that reply, see ``Engine.generate``). ``TurnService``
owns every rule a turn follows, so the window and ``chatdesk ask`` / ``chatdesk chat`` write
the same rows:

- settings: ``SettingsService.effective_sampling`` over the conversation's saved settings
  (the CLI saves its flags on the conversation first);
- title: ``title_for`` (first message, whitespace collapsed, at most 60 characters with "…");
- status: ``complete`` when the engine finished; ``interrupted`` after Stop; when the engine
  failed or its host died, ``interrupted`` if some text arrived and ``error`` if none did
  (the text that arrived is always kept);
- stats: ``stats_to_dict`` (milliseconds to 0.1, tokens per second to 0.01).

Threads. The service programs against ``chatdesk.engine.interface.Engine``; a reply handle
calls back on the engine's thread, and the service only forwards each event through its
``Dispatch`` (``chatdesk.services.events``) to the owner's thread, where the store is written
and listeners are told. The window's dispatch is the Qt bridge; the CLI drains an
``EventQueue``.

Hooks, for features built on top (tools, documents, token probabilities, remote engines);
every feature plugs in through them and nothing else (``install(turns)``):

- ``TurnRequest`` carries the engine's request: ``chat``, one immutable
  ``chatdesk.engine.request.ChatRequest`` (history, system prompt, sampling, conversation
  key), and ``extras`` (what the turn asked for: tool names, collections, logprobs; and what
  hooks found: passages...). ``add_request_hook(fn)`` registers ``fn(request)``, called
  before every generate; it transforms the value (``request.chat = request.chat.replace(
  ...)``: documents put passages in, tools their ``ToolSpec``s, token probabilities the
  few-shot examples and ``logprobs``). The value left is exactly what the engine gets, and
  Show prompt renders a value built by the same code (``TurnService.prompt_request``). A
  hook registered with ``blocking=True`` (document retrieval: it embeds the question) may
  take long, so a turn runs it through ``offload`` (the window: a worker thread, see
  ``events.in_thread``) after the reply row exists, and asks the engine back on the owner's
  thread once it is done;
- ``add_event_hook(fn)`` registers ``fn(turn, event)``, called for every engine event on the
  owner's thread; it may put JSON-ready values in ``turn.data`` (extra per-reply data,
  stored with the reply);
- ``add_text_hook(fn)``: ``fn(turn, delta) -> str`` filters the streamed text before it is
  kept and shown (tools hide a call being written);
- ``add_end_hook(fn)``: ``fn(turn, stats, error) -> bool`` when a reply ends; True means the
  hook carries the turn on (a tool loop runs the calls, then ``begin``s the next step or
  ``finish``es the turn);
- ``add_stop_hook(fn)``: ``fn(turn) -> bool`` on Stop; True means the hook stopped the turn
  (tools running);
- ``turn.state`` holds each feature's per-turn bookkeeping (never stored);
- ``persist_reply(turn, final)`` saves the reply row through the one writer of assistant
  rows (``chatdesk.services.replies.ReplyWriter``); a failed save (disk full ...) keeps the
  text, sets ``turn.save_error`` and is retried (``retry_unsaved``);
- ``add_listener(TurnListener)`` is how a front end hears about a turn (started, text grew,
  finished), on the owner's thread.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatdesk.engine.interface import (
    ChatMessage,
    Engine,
    HoldsReplies,
    ReplyHandle,
    WarmsConversations,
)
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    EngineHostDied,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    ReplyStats,
    SamplingSettings,
    TextDelta,
)
from chatdesk.services.events import Dispatch, Offload, run_inline
from chatdesk.services.replies import (
    ExchangeReply,
    ReplyOutcome,
    ReplyWriter,
    describe_error,
    final_status,
    stats_to_dict,
)
from chatdesk.services.settings import SettingsService
from chatdesk.services.tool_history import chat_messages
from chatdesk.store import Conversation, Message, Store, StoreError

log = logging.getLogger(__name__)
PERSIST_INTERVAL_S = 0.25
DEFAULT_TITLE = "New chat"
TITLE_LENGTH = 60


class ChatError(RuntimeError):
    """A turn that cannot start right now (no model, a reply already streaming...)."""


class EngineSource(Protocol):
    """Where the turn service gets its engine: the loaded model's session."""

    @property
    def ready(self) -> bool:
        """True when a model is loaded and can generate."""

    @property
    def engine(self) -> Engine:
        """The engine that generates replies."""

    @property
    def warmer(self) -> WarmsConversations | None:
        """The engine that warms conversations before their next turn (None: none can)."""

    @property
    def model_path(self) -> str | None:
        """The loaded model (a file path, or a remote id) as stored on replies."""

    def identity(self) -> dict[str, Any]:
        """The loaded model's identity (kind, path or id, name, size, sha256)."""

    def host_died(self, error: BaseException) -> None:
        """The engine went away mid-reply."""

    def recommended_sampling(self) -> dict[str, float | int]:
        """The loaded model's own recommended sampling (empty when it has none)."""


@dataclass
class TurnRequest:
    """One reply's request while hooks prepare it: ``chat`` is what the engine gets (hooks
    replace it, it never changes in place), ``settings`` the sampling settings stored with
    the reply, ``extras`` the turn's options and what hooks found."""

    conversation_id: str
    chat: ChatRequest
    settings: dict[str, float | int]
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class Turn:
    """One reply being generated (and, once finished, how it ended)."""

    request: TurnRequest
    message_id: str
    path: list[Message]
    model: str | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    status: str = "streaming"
    error: str | None = None
    failure: BaseException | None = None
    host_died: bool = False
    stats: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int | None = None
    n_ctx: int | None = None
    dropped: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    handle: ReplyHandle | None = None
    cancel_requested: bool = False
    last_persist: float = 0.0
    save_error: str | None = None  # the last save failed (disk full...): the text is kept here
    tool_calls: list[dict[str, Any]] | None = None  # the calls the reply made (a tool step)
    state: dict[str, object] = field(default_factory=dict)  # features' bookkeeping, by feature

    @property
    def conversation_id(self) -> str:
        """The conversation the reply belongs to."""
        return self.request.conversation_id

    @property
    def finished(self) -> bool:
        """True once the reply ended (complete, interrupted or error)."""
        return self.status != "streaming"

    def outcome(self) -> ReplyOutcome:
        """What the reply's final row keeps."""
        return ReplyOutcome(
            self.text, self.status, self.stats, self.n_ctx, self.dropped, self.error,
            self.data or None, self.identity, self.tool_calls,
        )  # fmt: skip


class TurnListener(Protocol):
    """What a front end hears about turns (always on the service's owner thread)."""

    def turn_started(self, turn: Turn) -> None:
        """A reply row exists and the engine was asked."""

    def turn_text(self, turn: Turn, delta: str) -> None:
        """``delta`` was appended to ``turn.text``."""

    def turn_finished(self, turn: Turn) -> None:
        """The reply ended and its final row is stored."""


RequestHook = Callable[[TurnRequest], None]
EventHook = Callable[[Turn, ReplyEvent], None]
TextHook = Callable[[Turn, str], str]
EndHook = Callable[[Turn, ReplyStats | None, BaseException | None], bool]
StopHook = Callable[[Turn], bool]


class TurnService:
    """Starts, streams, stops and stores chat turns; one reply streams at a time."""

    def __init__(
        self,
        store: Store,
        engines: EngineSource,
        settings: SettingsService,
        dispatch: Dispatch = run_inline,
    ) -> None:
        self.store = store
        self.replies = ReplyWriter(store)
        self.engines = engines
        self.settings = settings
        self.dispatch = dispatch
        self.current: Turn | None = None
        self.unsaved: dict[str, Turn] = {}  # replies whose final save failed, by message id
        self._listeners: list[TurnListener] = []
        self._request_hooks: list[RequestHook] = []
        self._blocking_hooks: list[RequestHook] = []
        self.offload: Offload = run_inline  # where blocking request hooks run
        self._event_hooks: list[EventHook] = []
        self._text_hooks: list[TextHook] = []
        self._end_hooks: list[EndHook] = []
        self._stop_hooks: list[StopHook] = []

    # -- hooks --------------------------------------------------------------------
    def add_listener(self, listener: TurnListener) -> None:
        """Tell ``listener`` about every turn from now on."""
        self._listeners.append(listener)

    def remove_listener(self, listener: TurnListener) -> None:
        """Stop telling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def add_request_hook(self, hook: RequestHook, blocking: bool = False) -> None:
        """Call ``hook(request)`` before each generate (it may edit the request); a
        ``blocking`` one runs through ``offload``, never on the owner's thread of a GUI."""
        (self._blocking_hooks if blocking else self._request_hooks).append(hook)

    def add_event_hook(self, hook: EventHook) -> None:
        """Call ``hook(turn, event)`` for every engine event (it may fill ``turn.data``)."""
        self._event_hooks.append(hook)

    def add_text_hook(self, hook: TextHook) -> None:
        """Pass streamed text through ``hook(turn, delta)``; what it returns is kept."""
        self._text_hooks.append(hook)

    def add_end_hook(self, hook: EndHook) -> None:
        """Call ``hook(turn, stats, error)`` when a reply ends; True: it carries the turn on."""
        self._end_hooks.append(hook)

    def add_stop_hook(self, hook: StopHook) -> None:
        """Call ``hook(turn)`` on Stop; True: the hook stopped the turn itself."""
        self._stop_hooks.append(hook)

    def remove_event_hook(self, hook: EventHook) -> None:
        """Stop calling ``hook`` (a window that closes)."""
        if hook in self._event_hooks:
            self._event_hooks.remove(hook)

    # -- conversations ------------------------------------------------------------
    def new_conversation(
        self, system_prompt: str = "", settings: dict[str, Any] | None = None
    ) -> Conversation:
        """A fresh conversation with the default settings (overlaid by ``settings``)."""
        return self.store.create_conversation(
            title=DEFAULT_TITLE,
            model=self.engines.model_path,
            model_identity=self.engines.identity(),
            system_prompt=system_prompt,
            settings={**self.settings.default_sampling(), **(settings or {})},
        )

    def record_exchange(
        self,
        system_prompt: str,
        messages: list[ChatMessage],
        reply: ExchangeReply,
        settings: dict[str, Any] | None = None,
    ) -> Conversation:
        """Save an exchange generated elsewhere (an API request) as a new conversation, with
        the same title, status, stats, tool-call and token-probability rules as a turn run
        here (``messages``: as the chat template takes them, tool calls included)."""
        conversation = self.new_conversation(system_prompt, settings)
        cid = conversation.id
        first = next((str(m.get("content", "")) for m in messages if m.get("role") == "user"), "")
        self.store.rename_conversation(cid, title_for(first or reply.text))
        parent = self.replies.history(cid, messages)
        row = self.replies.open(cid, parent, model=self.engines.model_path, settings=settings)
        self.replies.close(row.id, reply.outcome(self.engines.identity()))
        if reply.tokens:
            self.store.save_token_probabilities(row.id, reply.tokens)
        return conversation

    # -- turns --------------------------------------------------------------------
    @property
    def streaming(self) -> bool:
        """True while a reply is being generated."""
        return self.current is not None and not self.current.finished

    def send(self, conversation_id: str, text: str, extras: dict[str, Any] | None = None) -> Turn:
        """Add a user message and start the reply to it."""
        self._check_can_generate()
        user = self.store.append_message(conversation_id, "user", text)
        self._maybe_title(conversation_id, text)
        return self._start(conversation_id, user, extras)

    def regenerate(self, reply: Message, extras: dict[str, Any] | None = None) -> Turn:
        """A new sibling of an assistant reply, answering the same user message."""
        self._check_can_generate()
        if reply.role != "assistant" or reply.parent_id is None:
            raise ChatError("only an assistant reply can be regenerated")
        user = self.store.get_message(reply.parent_id)
        return self._start(reply.conversation_id, user, extras)

    def edit_and_resend(
        self, message: Message, text: str, extras: dict[str, Any] | None = None
    ) -> Turn:
        """A new sibling of a user message with new text, then a reply to it."""
        self._check_can_generate()
        if message.role != "user":
            raise ChatError("only your own messages can be edited")
        user = self.store.append_message(
            message.conversation_id, "user", text, parent_id=message.parent_id
        )
        return self._start(message.conversation_id, user, extras)

    def continue_reply(self, reply: Message, extras: dict[str, Any] | None = None) -> Turn:
        """Carry on writing a cut-off reply (stopped, interrupted or out of tokens), in place."""
        self._check_can_generate()
        if reply.role != "assistant" or not reply.content or reply.status == "error":
            raise ChatError("only a reply with some text can be continued")
        path = self.store.path_to(reply.id)
        request = self.request_for(reply.conversation_id, path, extras, blocking=False)
        self.replies.reopen(reply.id)
        model, identity = self.engines.model_path, self.engines.identity()
        turn = Turn(request, reply.id, path, model, identity, text=reply.content)
        return self._begin(turn, prepare=True)

    def stop(self) -> None:
        """Stop the streaming reply; what arrived so far is kept (``interrupted``)."""
        turn = self.current
        if turn is not None and any(hook(turn) for hook in self._stop_hooks):
            return  # a feature stopped it (tools were running: the turn ended now)
        if turn is not None and not turn.finished:
            turn.cancel_requested = True  # still preparing: the engine is never asked
            if turn.handle is not None:
                turn.handle.cancel()

    def request_for(
        self,
        conversation_id: str,
        path: list[Message],
        extras: dict[str, Any] | None = None,
        blocking: bool = True,
    ) -> TurnRequest:
        """The request for a reply after ``path`` (hooks applied): also what Show prompt shows.

        ``extras`` (the turn's own additions) are in the request before the hooks see it, so
        hooks can read them. ``blocking=False`` leaves out the blocking hooks (a turn runs
        them itself, off the owner's thread).
        """
        conversation = self.store.get_conversation(conversation_id)
        settings = self.settings.effective_sampling(
            conversation.settings, self.engines.recommended_sampling()
        )
        try:
            chat = ChatRequest.of(
                history_for(path), system_prompt=conversation.system_prompt,
                sampling=to_sampling(settings), conversation_key=conversation_id,
            )  # fmt: skip
        except EngineError as error:  # a stored message the engine could not take
            raise ChatError(describe_error(error)) from None
        request = TurnRequest(conversation_id, chat, settings, dict(extras or {}))
        for hook in self._request_hooks + (self._blocking_hooks if blocking else []):
            hook(request)
        return request

    def prompt_request(
        self, conversation_id: str, path: list[Message], extras: dict[str, Any] | None = None
    ) -> ChatRequest:
        """What Show prompt renders for a branch: the request a turn sends for its last reply
        (the branch before that reply; ``extras`` as the turn had them), built now by the
        same code and hooks as a turn; for a branch that ends with no reply, the request for
        the next one. Nothing changed since the reply: exactly the value it was sent."""
        if path and path[-1].role == "assistant":
            path = path[:-1]
        return self.request_for(conversation_id, path, extras).chat

    # -- internals ----------------------------------------------------------------
    def _check_can_generate(self) -> None:
        if self.streaming:
            raise ChatError("a reply is still being written; stop it first")
        if not self.engines.ready:
            raise ChatError("no model is loaded")

    def _maybe_title(self, conversation_id: str, text: str) -> None:
        if self.store.get_conversation(conversation_id).title == DEFAULT_TITLE:
            self.store.rename_conversation(conversation_id, title_for(text))

    def _start(self, conversation_id: str, user: Message, extras: dict[str, Any] | None) -> Turn:
        path = self.store.path_to(user.id)
        request = self.request_for(conversation_id, path, extras, blocking=False)
        model, identity = self.engines.model_path, self.engines.identity()
        placeholder = self.replies.open(
            conversation_id, user.id, model=model, settings=request.settings
        )
        if model and self.store.get_conversation(conversation_id).model_identity != identity:
            self.store.update_conversation(conversation_id, model=model, model_identity=identity)
        turn = Turn(request, placeholder.id, [*path, placeholder], model, identity)
        return self._begin(turn, prepare=True)

    def begin(self, turn: Turn) -> Turn:
        """Make ``turn`` current, tell the listeners and ask the engine (tool steps use it)."""
        return self._begin(turn)

    def finish(self, turn: Turn) -> None:
        """End ``turn`` without a further engine event (a tool step that ends the turn)."""
        self._finish(turn, None, None)

    def _begin(self, turn: Turn, prepare: bool = False) -> Turn:
        """The engine is asked before the listeners hear of the turn: it reads the prompt
        while the window builds the reply's widgets (tens of ms on a loaded machine, once
        added to every first token); its events are listened to (replayed) after."""
        turn.last_persist = time.monotonic()
        self.current = turn
        offloaded = prepare and bool(self._blocking_hooks)
        refused = None if offloaded else self._ask(turn)
        for listener in list(self._listeners):
            listener.turn_started(turn)
        if offloaded:  # the engine's other callers wait (``HoldsReplies``) until it is asked
            engine = self.engines.engine
            release = engine.hold() if isinstance(engine, HoldsReplies) else lambda: None
            self.offload(lambda: self._prepare_held(turn, release))
        else:
            self._listen(turn, refused)
        return turn

    def _prepare_held(self, turn: Turn, release: Callable[[], None]) -> None:
        """``_prepare``, then the hold on the engine's other callers ends (the reply was
        asked for, or the turn failed or stopped)."""
        try:
            self._prepare(turn)
        finally:
            release()

    def _prepare(self, turn: Turn) -> None:
        """The blocking request hooks (on the offload thread), then generate on the owner's."""
        try:
            for hook in self._blocking_hooks:
                hook(turn.request)
        except Exception as error:  # a hook that fails fails the turn, in words
            log.exception("preparing the request of %s failed", turn.conversation_id)
            failure = ReplyFailed(error=as_engine_error(error))
            self.dispatch(lambda: self._apply(turn, failure))
            return
        # The engine is asked from here, not after a hop to the owner's thread, which on a
        # loaded machine may still be building the reply's widgets (issue 25).
        refused = None if turn.cancel_requested else self._ask(turn)
        self.dispatch(lambda: self._generate_prepared(turn, refused))

    def _generate_prepared(self, turn: Turn, refused: ReplyFailed | None) -> None:
        if turn.finished or turn.cancel_requested:  # Stop pressed while it was prepared
            if turn.handle is not None:
                turn.handle.cancel()
            if not turn.finished:
                self._finish(turn, None, None)
        else:
            self._listen(turn, refused)

    def _ask(self, turn: Turn) -> ReplyFailed | None:
        """Start the engine on the turn's request; the failure if it refused at once."""
        try:
            turn.handle = self.engines.engine.generate(turn.request.chat)
        except Exception as error:  # the engine refused at once: the turn fails the same way
            return ReplyFailed(error=as_engine_error(error))
        return None

    def _listen(self, turn: Turn, refused: ReplyFailed | None) -> None:
        """Apply the turn's events (or its refusal) on the owner's thread."""
        try:
            if refused is None and turn.handle is not None:
                turn.handle.on_event(lambda e: self.dispatch(lambda: self._apply(turn, e)))
                return
        except Exception as error:
            refused = ReplyFailed(error=as_engine_error(error))
        failure = refused or ReplyFailed(error=as_engine_error(RuntimeError("no reply")))
        self.dispatch(lambda: self._apply(turn, failure))

    def _apply(self, turn: Turn, event: ReplyEvent) -> None:
        """One engine event, on the owner's thread."""
        if turn.finished:
            return
        for hook in self._event_hooks:
            hook(turn, event)
        if isinstance(event, TextDelta):
            shown = event.text
            for text_hook in self._text_hooks:
                shown = text_hook(turn, shown)
            if shown:  # a tool call being written is never shown as text
                turn.text += shown
                for listener in list(self._listeners):
                    listener.turn_text(turn, shown)
            self._persist_if_due(turn)
        elif isinstance(event, ContextFitted):
            turn.prompt_tokens, turn.n_ctx = event.prompt_tokens, event.n_ctx
            turn.dropped = event.dropped_count
        elif isinstance(event, ReplyDone):
            self._finish(turn, event.stats, None)
        elif isinstance(event, ReplyFailed):
            self._finish(turn, event.stats, event.error)

    def _finish(self, turn: Turn, stats: ReplyStats | None, error: BaseException | None) -> None:
        turn.stats = stats_to_dict(stats) or turn.stats
        if stats is not None and stats.n_ctx:
            turn.prompt_tokens = stats.prompt_tokens or turn.prompt_tokens
            turn.n_ctx, turn.dropped = stats.n_ctx, stats.dropped_messages
        if any(hook(turn, stats, error) for hook in self._end_hooks):
            return  # a feature carries the turn on (the reply called tools: they run)
        turn.status = final_status(turn.text, error, turn.cancel_requested, turn.stats)
        if error is not None:
            turn.host_died = isinstance(error, EngineHostDied)
            turn.error, turn.failure = describe_error(error), error
            turn.stats.setdefault("finish_reason", "error")
            if turn.host_died:
                self.engines.host_died(error)
        self.persist_reply(turn, final=True)
        if self.current is turn:
            self.current = None
        for listener in list(self._listeners):
            listener.turn_finished(turn)

    def _persist_if_due(self, turn: Turn) -> None:
        now = time.monotonic()
        if now - turn.last_persist >= PERSIST_INTERVAL_S:
            turn.last_persist = now
            self.persist_reply(turn, final=False)

    def persist_reply(self, turn: Turn, final: bool) -> None:
        """Write the reply row: the text so far while streaming, everything when ``final``.

        A failed write (a full disk, a database locked or made read-only) never loses the
        reply: it stays in ``turn.text``, ``turn.save_error`` says why in words, the next
        streaming save tries again, and a failed final save leaves the turn in ``unsaved``
        until ``retry_unsaved`` succeeds (the window retries on a timer, the CLI waits).
        """
        try:
            self._write_reply(turn, final)
        except (StoreError, sqlite3.Error) as error:
            turn.save_error = f"the reply is not saved: {error}"
            log.warning("%s", turn.save_error)
            if final:
                self.unsaved[turn.message_id] = turn
            return
        turn.save_error = None
        self.unsaved.pop(turn.message_id, None)

    def retry_unsaved(self) -> bool:
        """Try again to save replies whose final save failed; True once all are saved."""
        for turn in list(self.unsaved.values()):
            self.persist_reply(turn, final=True)
        return not self.unsaved

    def _write_reply(self, turn: Turn, final: bool) -> None:
        if final:
            self.replies.close(turn.message_id, turn.outcome())
        else:
            self.replies.stream(turn.message_id, turn.text)


def title_for(text: str) -> str:
    """A conversation title from its first message."""
    line = " ".join(text.split())
    if not line:
        return DEFAULT_TITLE
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def history_for(messages: list[Message]) -> list[ChatMessage]:
    """The turns the model gets: user and assistant text (failed or empty replies left out),
    and tool calls with their results (``tool_history.chat_messages``)."""
    return chat_messages(messages)


def as_engine_error(error: BaseException) -> EngineError:
    """Any failure as the engine's error type (what ReplyFailed carries)."""
    return error if isinstance(error, EngineError) else EngineError(describe_error(error))


def to_sampling(settings: dict[str, float | int]) -> SamplingSettings:
    """The engine's sampling settings from stored ones (seed -1: random)."""
    known: dict[str, Any] = dict(settings)
    if known.get("seed", -1) == -1:
        known["seed"] = None
    return SamplingSettings.from_dict(known)
