"""The one place that writes assistant rows ("one saving path for every caller").

Every assistant reply the app keeps goes through ``ReplyWriter``, whoever made it:

- a turn in the window or the command line (``chatdesk.services.turns``): ``open`` a
  ``streaming`` placeholder, ``stream`` the text so far now and then, ``close`` it with its
  ``ReplyOutcome`` when the engine is done;
- each step of a tool loop (``chatdesk.services.tool_turns``): the same three calls, the
  outcome carrying the step's ``tool_calls``;
- an exchange the API server answered (``TurnService.record_exchange``): ``history`` (the
  request's messages, its earlier assistant turns and tool turns included), then ``open``
  and ``close`` at once with the ``ExchangeReply`` as it ended (finished, stopped, or failed
  with its text so far; its calls, reasoning and figures the server measured);
- a branch from another token (``chatdesk.services.token_probabilities``): ``open`` with
  the new prefix as an ``interrupted`` reply, which the turn service then continues.

``close`` writes text, status, figures, context fit, error, feature data, model identity
and tool calls in ONE transaction: a reply row is never half final (a full disk fails the
whole save, and the caller keeps the text to retry). The rules shared by all callers live
here too: ``final_status`` (how a reply ended) and ``stats_to_dict`` (the stored figures).
Feature tables that hang off a reply (passages, token probabilities) are written by their
features' hooks; the row itself only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chatdesk.engine.types import ReplyStats, TokenChoice
from chatdesk.store import Message, Store


@dataclass
class ReplyOutcome:
    """How a reply ended: everything its row keeps besides the tree position."""

    text: str
    status: str
    stats: dict[str, Any] = field(default_factory=dict)
    n_ctx: int | None = None
    dropped: int | None = None
    error: str | None = None
    extra: dict[str, Any] | None = None
    identity: dict[str, Any] | None = None
    tool_calls: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class ExchangeReply:
    """A reply generated elsewhere (an API request's) as it ended, to be saved."""

    text: str  # without its calls and reasoning
    stats: ReplyStats | None
    error: BaseException | None = None  # the failure that ended it (the text so far kept)
    tool_calls: list[dict[str, Any]] | None = None
    reasoning: str = ""
    tokens: Sequence[TokenChoice] = ()  # its token probabilities, when they were asked for

    def outcome(self, identity: dict[str, Any] | None) -> ReplyOutcome:
        """Its row, by the rules of a turn's reply (``TurnService._finish``)."""
        stats, error = self.stats, self.error
        figures = stats_to_dict(stats)
        if error is not None:
            figures.setdefault("finish_reason", "error")
        return ReplyOutcome(
            self.text, final_status(self.text, error, False, figures), figures,
            n_ctx=(stats.n_ctx or None) if stats else None,
            dropped=stats.dropped_messages if stats else None,
            error=describe_error(error) if error is not None else None,
            extra={"reasoning": self.reasoning} if self.reasoning else None,
            identity=identity, tool_calls=self.tool_calls,
        )  # fmt: skip


class ReplyWriter:
    """Creates, streams into and finalises assistant rows of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def open(
        self,
        conversation_id: str,
        parent_id: str | None,
        *,
        model: str | None,
        settings: dict[str, Any] | None,
        text: str = "",
        status: str = "streaming",
        tool_calls: list[dict[str, Any]] | None = None,
    ) -> Message:
        """A new reply row under ``parent_id`` (it becomes the active leaf)."""
        return self.store.append_message(
            conversation_id, "assistant", text, parent_id=parent_id, status=status,
            model=model, settings=settings, tool_calls=tool_calls,
        )  # fmt: skip

    def history(self, conversation_id: str, messages: list[dict[str, Any]]) -> str | None:
        """The messages an exchange answered (an API request's, as the chat template takes
        them), in order, each under the one before, with their tool calls and the ids of the
        calls tool results answer; the id of the last (None for none)."""
        parent = None
        for message in messages:
            role, text = str(message["role"]), str(message.get("content") or "")
            calls, answers = message.get("tool_calls"), message.get("tool_call_id")
            if role == "assistant":
                row = self.open(conversation_id, parent, model=None, settings=None, text=text,
                                status="complete", tool_calls=calls)  # fmt: skip
            else:
                row = self.store.append_message(
                    conversation_id, role, text, parent_id=parent, tool_call_id=answers
                )
            parent = row.id
        return parent

    def stream(self, message_id: str, text: str) -> None:
        """The text so far (cheap: called while the reply streams)."""
        self.store.update_message(message_id, content=text)

    def reopen(self, message_id: str) -> None:
        """A stored reply streams again (it is being continued)."""
        self.store.update_message(message_id, status="streaming")

    def close(self, message_id: str, outcome: ReplyOutcome) -> None:
        """The final row, all of it in one transaction."""
        with self.store.transaction():
            self.store.update_message(
                message_id, content=outcome.text, status=outcome.status, stats=outcome.stats
            )
            self.store.set_reply_metadata(
                message_id,
                n_ctx=outcome.n_ctx,
                dropped_messages=outcome.dropped if outcome.n_ctx else None,
                error=outcome.error,
                extra=outcome.extra or None,
                model_identity=outcome.identity,
            )
            if outcome.tool_calls is not None:
                self.store.set_tool_calls(message_id, outcome.tool_calls or None)


def final_status(
    text: str, error: BaseException | None, cancelled: bool, stats: dict[str, Any]
) -> str:
    """How a reply ended: ``complete`` when the engine finished; ``interrupted`` after Stop;
    after a failure ``interrupted`` if some text arrived and ``error`` if none did."""
    if error is not None:
        return "interrupted" if text else "error"
    if cancelled or stats.get("finish_reason") == "cancelled":
        return "interrupted"
    return "complete"


def describe_error(error: BaseException) -> str:
    """The engine's reason in one readable string."""
    text = str(error).strip()
    return text or type(error).__name__


def stats_to_dict(stats: ReplyStats | None) -> dict[str, Any]:
    """The reply figures the store keeps (the one stats format: milliseconds to 0.1,
    tokens per second to 0.01)."""
    if stats is None:
        return {}
    ttft = stats.time_to_first_token
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.generated_tokens,
        "time_to_first_token_ms": None if ttft is None else round(ttft * 1000, 1),
        "tokens_per_second": round(stats.decode_tokens_per_second, 2),
        "finish_reason": stats.finish_reason,
        "drafted_tokens": stats.drafted_tokens,
        "accepted_tokens": stats.accepted_tokens,
    }
