"""The values the store hands out: frozen dataclasses, plus the allowed roles and statuses.

Ids are uuid4 hex strings, so conversations imported from another machine never collide.
Timestamps are ISO-8601 UTC strings with microseconds and a ``Z`` suffix
(``2026-11-23T09:01:57.123456Z``): fixed width, so they sort as text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ROLES = ("system", "user", "assistant", "tool")
STATUSES = ("complete", "streaming", "interrupted", "error")
STAT_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "time_to_first_token_ms",
    "tokens_per_second",
    "finish_reason",
    "drafted_tokens",
    "accepted_tokens",
)
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def new_id() -> str:
    """A fresh id for a conversation or message."""
    return uuid.uuid4().hex


def utc_now() -> str:
    """The current time as a store timestamp."""
    return format_timestamp(datetime.now(UTC))


def format_timestamp(moment: datetime) -> str:
    """A datetime as a store timestamp; naive datetimes are taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    m = moment.astimezone(UTC)  # strftime("%Y") writes year 999 as "999": pad it by hand
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        f".{m.microsecond:06d}Z"
    )


def normalize_timestamp(text: str) -> str:
    """Any ISO-8601 date or time string as a store timestamp; ``ValueError`` if unparsable
    (or outside years 1 to 9999 once in UTC)."""
    try:
        return format_timestamp(datetime.fromisoformat(text))
    except OverflowError:
        raise ValueError(f"{text!r} is outside the years 1 to 9999") from None


@dataclass(frozen=True)
class Conversation:
    """One chat: its settings and which branch of its message tree is shown."""

    id: str
    title: str
    created_at: str
    updated_at: str
    model: str | None = None
    system_prompt: str = ""
    settings: dict[str, Any] = field(default_factory=dict, hash=False)
    pinned: bool = False
    active_leaf_id: str | None = None
    model_identity: dict[str, Any] = field(default_factory=dict, hash=False)
    examples: list[dict[str, str]] = field(default_factory=list, hash=False)  # few-shot pairs


@dataclass(frozen=True)
class Message:
    """One message in a conversation's tree; ``parent_id`` None marks a root."""

    id: str
    conversation_id: str
    parent_id: str | None
    role: str
    content: str
    status: str
    created_at: str
    model: str | None = None
    settings: dict[str, Any] = field(default_factory=dict, hash=False)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    time_to_first_token_ms: float | None = None
    tokens_per_second: float | None = None
    finish_reason: str | None = None
    n_ctx: int | None = None  # the context the prompt had to fit (0005)
    dropped_messages: int | None = None  # oldest messages left out to fit it
    error: str | None = None  # why the reply failed, as the engine said
    extra: dict[str, Any] = field(default_factory=dict, hash=False)  # per-feature reply data
    model_identity: dict[str, Any] = field(default_factory=dict, hash=False)
    tool_calls: list[dict[str, Any]] | None = field(default=None, hash=False)
    tool_call_id: str | None = None
    drafted_tokens: int | None = None  # speculative decoding: tokens drafted and verified (0011)
    accepted_tokens: int | None = None  # of those, how many the model kept


@dataclass(frozen=True)
class SearchHit:
    """One search result: a title match (``message_id`` None) or a message match.

    ``snippet`` is the matching text with the matched words wrapped in the highlight
    markers passed to ``Store.search``; ``rank`` is FTS5's bm25 score, lower is better.
    """

    conversation_id: str
    message_id: str | None
    title: str
    snippet: str
    rank: float
