"""One terminal conversation for ``ask`` and ``chat``: engine client + store, streamed to stdout.

Every exchange is saved as it happens: the user's message first, then the reply, created
as ``streaming`` and updated every half second while it streams, so a crash or a kill
loses at most the last moment. Ctrl-C during a reply cancels it (the text so far is kept
and saved as ``interrupted``); an engine failure saves the partial reply as ``error``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TextIO

from chatdesk.cli.engine_commands import resolve_model, sampling_from_args
from chatdesk.cli.errors import CLIError
from chatdesk.engine.client import EngineClient, ReplyStream
from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    EngineHostDied,
    LoadOptions,
    ModelInfo,
    ReplyDone,
    ReplyFailed,
    ReplyStats,
    SamplingSettings,
    TextDelta,
)
from chatdesk.store import Conversation, Store, StoreError

SAVE_INTERVAL = 0.5  # seconds between saves of a streaming reply
TITLE_LENGTH = 60


def one_line(error: EngineError) -> str:
    """An engine error as one line (a crash: its summary and the telling log line)."""
    first = error.message.splitlines()[0] if error.message else error.code
    if isinstance(error, EngineHostDied) and error.log_tail:
        telling = [
            line
            for line in error.log_tail
            if any(word in line.lower() for word in ("assert", "error", "fail"))
        ]
        first = f"{first.rstrip('.')}: {(telling or error.log_tail)[-1].strip()}"
    return first.replace("Last log lines:", "").strip()


def title_from(prompt: str) -> str:
    """A conversation title from its first message."""
    line = " ".join(prompt.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def wait_for[T](future: Future[T]) -> T:
    """A future's result; engine errors become one-line CLI errors."""
    try:
        return future.result()
    except EngineError as error:
        raise CLIError(one_line(error)) from None


def stats_for_store(stats: ReplyStats) -> dict[str, Any]:
    """The reply figures the store keeps."""
    ttft = stats.time_to_first_token
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.generated_tokens,
        "time_to_first_token_ms": ttft * 1000 if ttft is not None else None,
        "tokens_per_second": stats.decode_tokens_per_second,
        "finish_reason": stats.finish_reason,
    }


class ChatSession:
    """A model loaded in an engine host, and the conversation it talks in."""

    def __init__(self, args: argparse.Namespace, store: Store, client: EngineClient) -> None:
        self.args = args
        self.store = store
        self.client = client
        self.out: TextIO = sys.stdout
        self.conversation: Conversation | None = None
        self.history: list[dict[str, str]] = []
        self.system = args.system or ""
        self.sampling = sampling_from_args(args, {})
        self.info: ModelInfo | None = None

    @classmethod
    def open(cls, args: argparse.Namespace) -> ChatSession:
        """Resolve the conversation, start the engine and load the model."""
        model = resolve_model(args.model)
        try:
            store = Store()
        except StoreError as error:
            raise CLIError(f"cannot open the conversation database: {error}") from None
        session = cls(args, store, EngineClient())
        try:
            if args.conversation:
                session.continue_conversation(args.conversation)
            options = LoadOptions(
                model, n_ctx=args.ctx, n_gpu_layers=args.gpu_layers, n_threads=args.threads
            )
            session.info = wait_for(session.client.load(options))
        except BaseException:
            session.close()
            raise
        return session

    def continue_conversation(self, wanted: str) -> None:
        """Pick up an existing conversation: its history, system prompt and settings."""
        ids = self.store.find_conversation_ids(wanted, limit=2)
        if len(ids) != 1:
            problem = "no conversation" if not ids else "more than one conversation"
            raise CLIError(f"{problem} matches {wanted!r}")
        self.conversation = self.store.get_conversation(ids[0])
        self.history = [
            {"role": m.role, "content": m.content}
            for m in self.store.active_path(ids[0])
            if m.role in ("user", "assistant") and m.status != "error" and m.content
        ]
        if self.args.system is None:
            self.system = self.conversation.system_prompt
        self.sampling = sampling_from_args(self.args, self.conversation.settings)

    def _conversation_id(self, prompt: str) -> str:
        if self.conversation is None:
            self.conversation = self.store.create_conversation(
                title=title_from(prompt),
                model=self.info.name if self.info else None,
                system_prompt=self.system,
                settings=self.sampling.to_dict(),
            )
        return self.conversation.id

    # -- one exchange ---------------------------------------------------------------------

    def exchange(self, prompt: str) -> ReplyStats | None:
        """Send ``prompt``, stream the reply to stdout, save both; the reply's figures."""
        cid = self._conversation_id(prompt)
        self.store.append_message(cid, "user", prompt)
        self.history.append({"role": "user", "content": prompt})
        reply = self.store.append_message(
            cid,
            "assistant",
            "",
            status="streaming",
            model=self.info.name if self.info else None,
            settings=self.sampling.to_dict(),
        )
        stream = self.client.generate(self.history, self.system, self.sampling, cid)
        text, end = self._stream(stream, reply.id)
        return self._finish(reply.id, text, end)

    def _stream(self, stream: ReplyStream, message_id: str) -> tuple[str, ReplyDone | ReplyFailed]:
        parts: list[str] = []
        last_save = time.monotonic()
        try:
            for event in stream:
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    self._write(event.text)
                    if time.monotonic() - last_save >= SAVE_INTERVAL:
                        self.store.update_message(message_id, content="".join(parts))
                        last_save = time.monotonic()
                elif isinstance(event, ContextFitted) and event.dropped_count:
                    self._note_dropped(event)
                elif isinstance(event, ReplyDone | ReplyFailed):
                    return "".join(parts), event
        except (KeyboardInterrupt, BrokenPipeError):
            stream.cancel()
            with contextlib.suppress(EngineError, TimeoutError):
                stream.wait(timeout=30)
        text = stream.text
        end: ReplyDone | ReplyFailed
        if stream.error is not None:
            end = ReplyFailed(stream.error, stream.stats)
        else:
            assert stream.stats is not None
            end = ReplyDone(stream.stats)
        return text, end

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _note_dropped(self, event: ContextFitted) -> None:
        print(
            f"[{event.dropped_count} oldest message(s) left out to fit the "
            f"{event.n_ctx}-token context]",
            file=sys.stderr,
        )

    def _finish(
        self, message_id: str, text: str, end: ReplyDone | ReplyFailed
    ) -> ReplyStats | None:
        with contextlib.suppress(BrokenPipeError):
            self._write("\n")
        if isinstance(end, ReplyFailed):
            self.store.update_message(message_id, content=text, status="error")
            raise CLIError(one_line(end.error))
        stats = end.stats
        status = "interrupted" if stats.finish_reason == "cancelled" else "complete"
        self.store.update_message(
            message_id, content=text, status=status, stats=stats_for_store(stats)
        )
        self.history.append({"role": "assistant", "content": text})
        if self.args.stats:
            print(describe_stats(stats), file=sys.stderr)
        if status == "interrupted":
            raise KeyboardInterrupt
        return stats

    # -- interactive ----------------------------------------------------------------------

    def interactive(self) -> None:
        """Read prompts until /exit or end of input; Ctrl-C stops a reply, not the chat."""
        assert self.info is not None
        print(
            f"{self.info.name} ({self.info.quantization}, {self.info.n_ctx}-token context, "
            f"{self.info.backend}). Type /exit to leave; Ctrl-C stops a reply.",
            file=sys.stderr,
        )
        while True:
            try:
                line = input(">>> ")
            except (EOFError, KeyboardInterrupt):
                print(file=sys.stderr)
                return
            if line.strip() in ("/exit", "/quit", "/bye"):
                return
            if line.strip():
                self._interactive_turn(line)

    def _interactive_turn(self, line: str) -> None:
        try:
            self.exchange(line)
        except KeyboardInterrupt:
            print("[stopped]", file=sys.stderr)
        except CLIError as error:
            print(f"chatdesk: error: {error}", file=sys.stderr)

    def close(self) -> None:
        """Stop the engine host and close the database."""
        self.client.close()
        self.store.close()

    def __enter__(self) -> ChatSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def describe_stats(stats: ReplyStats) -> str:
    """One line of reply figures."""
    ttft = f"{stats.time_to_first_token * 1000:.0f} ms" if stats.time_to_first_token else "-"
    return (
        f"[{stats.generated_tokens} tokens, {stats.decode_tokens_per_second:.1f} tok/s, "
        f"first token {ttft}, prompt {stats.prompt_tokens} tokens "
        f"({stats.evaluated_prompt_tokens} evaluated), finish: {stats.finish_reason}]"
    )


__all__ = ["ChatSession", "SamplingSettings", "describe_stats", "one_line"]
