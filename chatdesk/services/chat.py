"""Conversations as the window drives them: send, stop, regenerate, edit and resend, branches.

The engine calls back on its own reader thread; those events only go into a queue. The window's
frame timer calls ``pump()`` on the GUI thread, which folds queued events into the streaming
reply, writes it to the store a few times a second (so a crash keeps what was shown) and says
which message changed. One reply streams at a time.
"""

from __future__ import annotations

import queue
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    EngineHostDied,
    ReplyDone,
    ReplyFailed,
    ReplyStats,
    SamplingSettings,
    TextDelta,
)
from chatdesk.services.engine_session import EngineSession, describe_error
from chatdesk.services.settings import SettingsService
from chatdesk.store import Conversation, Message, Store

PERSIST_INTERVAL_S = 0.25
DEFAULT_TITLE = "New chat"
TITLE_LENGTH = 48
NOTES_KEY = "chat.context_notes"
MAX_NOTES = 2000


class ChatError(RuntimeError):
    """An action the chat cannot do right now (no model, a reply already streaming...)."""


@dataclass
class StreamingReply:
    """The reply being generated: what has arrived so far and what the engine said about it."""

    conversation_id: str
    message_id: str
    handle: Any = None
    parts: list[str] = field(default_factory=list)
    text: str = ""
    revision: int = 0
    prompt_tokens: int | None = None
    n_ctx: int | None = None
    dropped: int = 0
    finished: bool = False
    status: str = "streaming"
    error: str | None = None
    host_died: bool = False
    last_persist: float = 0.0
    cancel_requested: bool = False


@dataclass
class PumpResult:
    """What one ``pump()`` changed: the growing message, and whether the reply ended."""

    message_id: str | None = None
    text_changed: bool = False
    finished: bool = False


@dataclass(frozen=True)
class ContextNote:
    """How the prompt of a reply fitted the context (shown under the reply)."""

    prompt_tokens: int | None
    n_ctx: int | None
    dropped: int


class ChatService:
    """Everything the chat view asks for, on top of the store and the engine session."""

    def __init__(self, store: Store, engine: EngineSession, settings: SettingsService) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.reply: StreamingReply | None = None
        self._events: queue.SimpleQueue[tuple[StreamingReply, Any]] = queue.SimpleQueue()
        self._notes: dict[str, ContextNote] = {}
        self._notes_loaded = False
        self.reply_path: list[Message] = []  # the branch of the reply started last

    # -- conversations ------------------------------------------------------------
    def new_conversation(self) -> Conversation:
        """A fresh conversation with the default settings and the current model."""
        return self.store.create_conversation(
            title=DEFAULT_TITLE,
            model=self.engine.status.path,
            settings=self.settings.default_sampling(),
        )

    def messages(self, conversation_id: str) -> list[Message]:
        """The active branch, oldest first."""
        return self.store.active_path(conversation_id)

    def sibling_position(self, message: Message) -> tuple[int, int]:
        """(1-based index, count) of a message among its siblings."""
        siblings = self.store.siblings(message.id)
        ids = [m.id for m in siblings]
        return (ids.index(message.id) + 1 if message.id in ids else 1, max(len(ids), 1))

    def switch_sibling(self, message: Message, step: int) -> bool:
        """Show the previous (-1) or next (+1) sibling branch; False at either end."""
        siblings = self.store.siblings(message.id)
        ids = [m.id for m in siblings]
        target = ids.index(message.id) + step
        if not 0 <= target < len(ids) or self.streaming:
            return False
        self.store.set_active_leaf(message.conversation_id, ids[target])
        return True

    def context_note(self, message_id: str) -> ContextNote | None:
        """How that reply's prompt fitted the context, when known."""
        if not self._notes_loaded:
            self._load_notes()
        return self._notes.get(message_id)

    def _load_notes(self) -> None:
        self._notes_loaded = True
        saved = self.store.get_setting(NOTES_KEY, {}) or {}
        for mid, values in saved.items():
            if isinstance(values, list) and len(values) == 3:
                self._notes.setdefault(mid, ContextNote(*values))

    def _save_note(self, message_id: str, note: ContextNote) -> None:
        """Remember (in memory and in the store) how a finished reply fitted the context."""
        if not self._notes_loaded:
            self._load_notes()
        self._notes[message_id] = note
        saved = dict(self.store.get_setting(NOTES_KEY, {}) or {})
        saved[message_id] = [note.prompt_tokens, note.n_ctx, note.dropped]
        self.store.set_setting(NOTES_KEY, dict(list(saved.items())[-MAX_NOTES:]))

    # -- replies ------------------------------------------------------------------
    @property
    def streaming(self) -> bool:
        """True while a reply is being generated."""
        return self.reply is not None and not self.reply.finished

    def send(self, conversation_id: str, text: str) -> Message:
        """Add a user message and start the reply to it; returns the (empty) reply message."""
        self._check_can_generate()
        user = self.store.append_message(conversation_id, "user", text)
        self._maybe_title(conversation_id, text)
        return self._start_reply(conversation_id, user)

    def regenerate(self, reply: Message) -> Message:
        """A new sibling of an assistant reply, answering the same user message."""
        self._check_can_generate()
        if reply.role != "assistant" or reply.parent_id is None:
            raise ChatError("only an assistant reply can be regenerated")
        return self._start_reply(reply.conversation_id, self.store.get_message(reply.parent_id))

    def edit_and_resend(self, message: Message, text: str) -> Message:
        """A new sibling of a user message with new text, then a reply to it."""
        self._check_can_generate()
        if message.role != "user":
            raise ChatError("only your own messages can be edited")
        user = self.store.append_message(
            message.conversation_id, "user", text, parent_id=message.parent_id
        )
        return self._start_reply(message.conversation_id, user)

    def cancel(self) -> None:
        """Stop the streaming reply; what arrived so far is kept."""
        if self.reply is not None and not self.reply.finished and self.reply.handle is not None:
            self.reply.cancel_requested = True
            self.reply.handle.cancel()

    def pump(self) -> PumpResult:
        """Fold queued engine events into the reply (GUI thread only)."""
        reply = self.reply
        result = PumpResult(message_id=reply.message_id if reply else None)
        while True:
            try:
                owner, event = self._events.get_nowait()
            except queue.Empty:
                break
            if owner is reply and not owner.finished:
                result.text_changed |= self._apply(owner, event)
        if reply is not None and not reply.finished and reply.parts:
            reply.text += "".join(reply.parts)
            reply.parts.clear()
        if reply is not None and reply.finished:
            result.finished = True
            self.reply = None
        elif reply is not None:
            self._persist_if_due(reply)
        return result

    def render_prompt(self, conversation_id: str) -> Future[Any]:
        """The exact prompt for the conversation's active branch: Future of (text, tokens)."""
        conversation = self.store.get_conversation(conversation_id)
        history = history_for(self.store.active_path(conversation_id))
        return self.engine.client.render_prompt(history, conversation.system_prompt)

    def fail_reply(self, error: BaseException) -> None:
        """The engine went away without telling the reply (a dead host noticed elsewhere)."""
        if self.reply is not None and not self.reply.finished:
            self._events.put((self.reply, ReplyFailed(error=as_engine_error(error))))

    # -- internals ----------------------------------------------------------------
    def _check_can_generate(self) -> None:
        if self.streaming:
            raise ChatError("a reply is still being written; stop it first")
        if not self.engine.ready:
            raise ChatError("no model is loaded")

    def _maybe_title(self, conversation_id: str, text: str) -> None:
        conversation = self.store.get_conversation(conversation_id)
        if conversation.title == DEFAULT_TITLE:
            title = " ".join(text.split())[:TITLE_LENGTH].strip() or DEFAULT_TITLE
            self.store.rename_conversation(conversation_id, title)

    def _start_reply(self, conversation_id: str, user: Message) -> Message:
        conversation = self.store.get_conversation(conversation_id)
        sampling = self.settings.effective_sampling(conversation.settings)
        path = self.store.path_to(user.id)
        history = history_for(path)
        model = self.engine.status.path
        placeholder = self.store.append_message(
            conversation_id,
            "assistant",
            "",
            parent_id=user.id,
            status="streaming",
            model=model,
            settings=sampling,
        )
        if model and conversation.model != model:
            self.store.update_conversation(conversation_id, model=model)
        reply = StreamingReply(conversation_id, placeholder.id, last_persist=time.monotonic())
        self.reply = reply
        self.reply_path = [*path, placeholder]
        try:
            reply.handle = self.engine.client.generate(
                history,
                conversation.system_prompt,
                to_sampling(sampling),
                conversation_key=str(conversation_id),
            )
            reply.handle.on_event(lambda event: self._events.put((reply, event)))
        except Exception as error:
            self._events.put((reply, ReplyFailed(error=as_engine_error(error))))
        return placeholder

    def _apply(self, reply: StreamingReply, event: Any) -> bool:
        """One engine event; True when the text grew."""
        if isinstance(event, TextDelta):
            reply.parts.append(event.text)
            reply.revision += 1
            return True
        if isinstance(event, ContextFitted):
            reply.prompt_tokens, reply.n_ctx = event.prompt_tokens, event.n_ctx
            reply.dropped = event.dropped_count
            self._notes[reply.message_id] = ContextNote(
                event.prompt_tokens, event.n_ctx, event.dropped_count
            )
        elif isinstance(event, ReplyDone):
            self._finish(reply, event.stats, None)
        elif isinstance(event, ReplyFailed):
            self._finish(reply, event.stats, event.error)
        return False

    def _finish(
        self, reply: StreamingReply, stats: ReplyStats | None, error: BaseException | None
    ) -> None:
        reply.text += "".join(reply.parts)
        reply.parts.clear()
        reply.finished = True
        stats_dict = stats_to_dict(stats)
        if error is not None:
            reply.host_died = isinstance(error, EngineHostDied)
            reply.error = describe_error(error)
            reply.status = "interrupted" if reply.host_died or reply.text else "error"
            stats_dict.setdefault("finish_reason", "error")
            if reply.host_died:
                self.engine.host_died(error)
        elif stats_dict.get("finish_reason") == "cancelled" or reply.cancel_requested:
            reply.status = "interrupted"
        else:
            reply.status = "complete"
        self.store.update_message(
            reply.message_id, content=reply.text, status=reply.status, stats=stats_dict
        )
        if stats is not None and stats.n_ctx:
            prompt = stats.prompt_tokens or reply.prompt_tokens
            self._save_note(
                reply.message_id, ContextNote(prompt, stats.n_ctx, stats.dropped_messages)
            )
        elif reply.n_ctx:
            self._save_note(
                reply.message_id, ContextNote(reply.prompt_tokens, reply.n_ctx, reply.dropped)
            )

    def _persist_if_due(self, reply: StreamingReply) -> None:
        now = time.monotonic()
        if now - reply.last_persist >= PERSIST_INTERVAL_S:
            reply.last_persist = now
            self.store.update_message(reply.message_id, content=reply.text)


def history_for(messages: list[Message]) -> list[dict[str, str]]:
    """The turns the model gets: user and assistant text (failed or empty replies left out)."""
    return [
        {"role": m.role, "content": m.content}
        for m in messages
        if m.role in ("user", "assistant") and m.status != "error" and m.content
    ]


def as_engine_error(error: BaseException) -> EngineError:
    """Any failure as the engine's error type (what ReplyFailed carries)."""
    return error if isinstance(error, EngineError) else EngineError(describe_error(error))


def stats_to_dict(stats: ReplyStats | None) -> dict[str, Any]:
    """The reply figures the store keeps, from the engine's ReplyStats."""
    if stats is None:
        return {}
    ttft = stats.time_to_first_token
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.generated_tokens,
        "time_to_first_token_ms": None if ttft is None else round(ttft * 1000, 1),
        "tokens_per_second": round(stats.decode_tokens_per_second, 2),
        "finish_reason": stats.finish_reason,
    }


def to_sampling(settings: dict[str, float | int]) -> SamplingSettings:
    """The engine's sampling settings from a conversation's stored ones (seed -1: random)."""
    known: dict[str, Any] = dict(settings)
    if known.get("seed", -1) == -1:
        known["seed"] = None
    return SamplingSettings.from_dict(known)
