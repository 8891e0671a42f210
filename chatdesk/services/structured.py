"""Structured output for every turn: the reply format of a conversation (or of one turn),
checked before the engine is asked, and the verdict on the reply stored with it.

A reply format is ``{"type": "text" | "json_object" | "json_schema", "schema": {...},
"name": "..."}`` — the dict form of ``chatdesk.engine.request.ResponseFormat``. It comes from
the turn's ``extras["response_format"]`` (the CLI's ``--json-schema`` / ``--format json``),
else from the conversation's settings (``settings["reply_format"]``: the window's "Reply
format" setting, or a preset's). ``check_format`` compiles it first, so a schema that
cannot be enforced is refused with the keyword and its JSON path before anything is sent.

When the reply ends, ``on_event`` validates it (``chatdesk.engine.constrain.check_reply``:
jsonschema; a reply cut off by the token limit is "incomplete") and puts
``{"type", "schema", "name", "status", "error"}`` into ``turn.data["structured"]``, which
the store keeps with the reply (its ``extra``) and JSON export carries. Remote engines get
the same request (``response_format`` passed through), so their replies are validated on
arrival the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chatdesk.engine.constrain import SchemaRefused, check_reply, format_constraint
from chatdesk.engine.request import ResponseFormat
from chatdesk.engine.types import EngineError, ReplyDone, ReplyEvent, ReplyFailed

if TYPE_CHECKING:
    from chatdesk.services.turns import Turn, TurnRequest, TurnService
    from chatdesk.store import Store

EXTRAS_KEY = "response_format"
SETTINGS_KEY = "reply_format"
DATA_KEY = "structured"


class FormatError(ValueError):
    """A reply format that is malformed or cannot be enforced (the message says why)."""


def parse_format(value: Any) -> ResponseFormat | None:
    """A reply format (dict, ``ResponseFormat`` or None) checked and compiled: None for
    plain text; ``FormatError`` naming the problem (keyword and path for a refused schema)."""
    if value is None or isinstance(value, ResponseFormat):
        wanted = value
    elif isinstance(value, Mapping):
        wanted = _from_dict(value)
    else:
        raise FormatError("a reply format must be an object")
    if wanted is None or wanted.type == "text":
        return None
    try:
        format_constraint(wanted)
    except SchemaRefused as refused:
        raise FormatError(str(refused)) from None
    return wanted


def _from_dict(value: Mapping[str, Any]) -> ResponseFormat:
    schema = value.get("schema")
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as error:
            raise FormatError(f"the schema is not valid JSON: {error}") from None
    try:
        return ResponseFormat(
            str(value.get("type", "text")), schema, str(value.get("name") or ""),  # type: ignore[arg-type]
            bool(value.get("strict", True)),
        )  # fmt: skip
    except EngineError as error:
        raise FormatError(error.message) from None


def format_to_dict(wanted: ResponseFormat | None) -> dict[str, Any] | None:
    """The stored (JSON-ready) form of a reply format; None for plain text."""
    if wanted is None or wanted.type == "text":
        return None
    out: dict[str, Any] = {"type": wanted.type}
    if wanted.schema_dict is not None:
        out["schema"] = wanted.schema_dict
    if wanted.name:
        out["name"] = wanted.name
    return out


def response_format_of(extras: Mapping[str, Any]) -> ResponseFormat | None:
    """The turn's response format (set by ``StructuredOutput.prepare``), if any."""
    value = extras.get(EXTRAS_KEY)
    return value if isinstance(value, ResponseFormat) else None


class StructuredOutput:
    """Per-conversation reply formats; every reply checked against its format."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def install(self, turns: TurnService) -> None:
        """Hook into every turn of ``turns``."""
        turns.add_request_hook(self.prepare)
        turns.add_event_hook(self.on_event)

    def reply_format(self, conversation_id: str) -> dict[str, Any] | None:
        """The conversation's reply format (None: plain text)."""
        settings = self.store.get_conversation(conversation_id).settings or {}
        value = settings.get(SETTINGS_KEY)
        return dict(value) if isinstance(value, dict) else None

    def set_reply_format(self, conversation_id: str, value: Any) -> dict[str, Any] | None:
        """Set (None or text: clear) the conversation's reply format; ``FormatError`` when
        it is malformed or cannot be enforced. Returns what was stored."""
        stored = format_to_dict(parse_format(value))
        settings = dict(self.store.get_conversation(conversation_id).settings or {})
        if stored is None:
            settings.pop(SETTINGS_KEY, None)
        else:
            settings[SETTINGS_KEY] = stored
        self.store.update_conversation(conversation_id, settings=settings)
        return stored

    def prepare(self, request: TurnRequest) -> None:
        """Request hook: the turn's own format, else the conversation's, checked."""
        given = request.extras.get(EXTRAS_KEY)
        if given is None:
            given = self.reply_format(request.conversation_id)
        wanted = parse_format(given)  # FormatError: the turn is refused before the engine
        if wanted is None:
            request.extras.pop(EXTRAS_KEY, None)
        else:
            request.extras[EXTRAS_KEY] = wanted

    def on_event(self, turn: Turn, event: ReplyEvent) -> None:
        """Event hook: at the end of a reply, its verdict into ``turn.data``."""
        wanted = response_format_of(turn.request.extras)
        if wanted is None or not isinstance(event, ReplyDone | ReplyFailed):
            return
        record = format_to_dict(wanted) or {}
        if isinstance(event, ReplyFailed):
            status = "refused" if event.error.code == "bad_request" else "incomplete"
            record.update(status=status, error=event.error.message)
        else:
            constraint = format_constraint(wanted)
            assert constraint is not None
            verdict = check_reply(turn.text, constraint, event.stats.finish_reason)
            record.update(verdict.to_dict())
        turn.data[DATA_KEY] = record


def verdict_of(extra: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A stored reply's structured-output record (None when it had no format)."""
    value = (extra or {}).get(DATA_KEY)
    return dict(value) if isinstance(value, dict) else None
