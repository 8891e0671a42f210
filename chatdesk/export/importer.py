"""JSON import: validate the whole file first, then insert everything in one transaction.

Accepts ChatDesk's own export and a minimal file from elsewhere::

    {"conversations": [{"title": "...", "messages": [{"role": "user", "content": "..."}]}]}

A message without ``parent_id`` follows the message listed before it (a linear chat).
Every error names the place in the file (``conversations[0].messages[2].role: ...``).
Ids already in the database (the same file imported twice) are replaced by fresh ones
for that conversation, so an import never overwrites or merges into existing chats.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chatdesk.engine.types import TokenChoice
from chatdesk.export.errors import ImportFormatError
from chatdesk.export.json_format import FORMAT, VERSION
from chatdesk.probabilities.codec import ProbabilityFormatError, from_json
from chatdesk.store import ROLES, STATUSES, Conversation, Message, Store, StoreError
from chatdesk.store.models import new_id, normalize_timestamp, utc_now
from chatdesk.store.token_probabilities import check_examples

INTEGER_STATS = ("prompt_tokens", "completion_tokens", "drafted_tokens", "accepted_tokens")
FLOAT_STATS = ("time_to_first_token_ms", "tokens_per_second")
MAX_INTEGER = 2**63 - 1  # what SQLite and every JSON reader keep exactly
# Generation settings the engine reads, with the range each must be in (None: may be null).
SETTING_RANGES: dict[str, tuple[type, float, float, bool]] = {
    "temperature": (float, 0.0, 100.0, False),
    "top_p": (float, 0.0, 1.0, False),
    "min_p": (float, 0.0, 1.0, False),
    "repeat_penalty": (float, 0.0, 100.0, False),
    "presence_penalty": (float, -100.0, 100.0, False),
    "frequency_penalty": (float, -100.0, 100.0, False),
    "top_k": (int, 0, 1_000_000, False),
    "repeat_last_n": (int, -1, 1_000_000, False),
    "max_tokens": (int, 1, 10_000_000, True),
    "seed": (int, -1, 2**32 - 1, True),
}


@dataclass(frozen=True)
class ConversationPlan:
    """A validated conversation ready to insert."""

    conversation: Conversation
    messages: list[Message]
    probabilities: dict[str, list[TokenChoice]] = field(default_factory=dict)  # by message id
    passages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by message id


@dataclass(frozen=True)
class ImportResult:
    """What an import added."""

    conversation_ids: list[str]
    message_count: int
    renumbered: int  # conversations given fresh ids because theirs were already taken


class Fields:
    """Typed access to one JSON object's fields, with errors that say where."""

    def __init__(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise ImportFormatError(f"{where}: expected an object, got {json_type(value)}")
        self.data: dict[str, Any] = value
        self.where = where

    def fail(self, key: str, message: str) -> ImportFormatError:
        return ImportFormatError(f"{self.where}.{key}: {message}")

    def has(self, key: str) -> bool:
        return key in self.data

    def get(
        self, key: str, kinds: tuple[type, ...], default: Any = None, *, required: bool = False
    ) -> Any:
        if key not in self.data:
            if required:
                raise ImportFormatError(f"{self.where}: missing required key {key!r}")
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f"expected {type_names(kinds)}, got {json_type(value)}")
        if not isinstance(value, kinds):
            raise self.fail(key, f"expected {type_names(kinds)}, got {json_type(value)}")
        return value

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        value: str = self.get(key, (str,), default, required=required)
        return value

    def optional_text(self, key: str) -> str | None:
        value: str | None = self.get(key, (str, type(None)))
        return value

    def choice(
        self, key: str, options: tuple[str, ...], default: str, *, required: bool = False
    ) -> str:
        value = self.text(key, default, required=required)
        if value not in options:
            raise self.fail(key, f"expected one of {', '.join(options)}, got {value!r}")
        return value

    def timestamp(self, key: str, default: str) -> str:
        if key not in self.data:
            return default  # already a store timestamp; never blame a key the file lacks
        value = self.text(key)
        try:
            return normalize_timestamp(value)
        except ValueError:
            raise self.fail(key, f"not an ISO-8601 date and time: {value!r}") from None

    def settings(self, key: str = "settings") -> dict[str, Any]:
        value: dict[str, Any] = self.get(key, (dict,), {})
        if key == "settings":
            self.check_sampling(value)
        return value

    def check_sampling(self, value: dict[str, Any]) -> None:
        """Generation settings the engine reads: the right types, within their ranges."""
        for key, (kind, low, high, nullable) in SETTING_RANGES.items():
            if key in value and not (nullable and value[key] is None):
                check_setting(value[key], kind, low, high, f"{self.where}.settings.{key}")
        stop = value.get("stop", [])
        if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
            raise self.fail("settings.stop", "expected a list of strings")
        if not isinstance(value.get("ignore_eos", False), bool):
            raise self.fail("settings.ignore_eos", "expected true/false")

    def examples(self) -> list[dict[str, str]]:
        try:
            return check_examples(self.get("examples", (list,), []))
        except StoreError as error:
            raise self.fail("examples", str(error)) from None

    def probabilities(self) -> list[TokenChoice] | None:
        if not self.has("token_probabilities"):
            return None
        try:
            return from_json(self.data["token_probabilities"], "token_probabilities")
        except ProbabilityFormatError as error:
            raise ImportFormatError(f"{self.where}.{error}") from None

    def number(self, key: str, integer: bool) -> int | float | None:
        kinds: tuple[type, ...] = (int, type(None)) if integer else (int, float, type(None))
        value = self.get(key, kinds)
        if value is None:
            return None
        if isinstance(value, int) and not 0 <= value < 2**53:
            raise self.fail(key, "expected a non-negative number below 2**53")
        if not math.isfinite(value) or value < 0:
            raise self.fail(key, f"expected a non-negative number, got {value!r}")
        return value if integer else float(value)


def check_setting(value: Any, kind: type, low: float, high: float, where: str) -> None:
    """One generation setting: a number of the right kind within its range."""
    integer = kind is int
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        expected = "an integer" if integer else "a number"
        raise ImportFormatError(f"{where}: expected {expected}, got {json_type(value)}")
    if not low <= value <= high:
        raise ImportFormatError(
            f"{where}: expected a value from {low:g} to {high:g}, got {value:g}"
        )


def check_values(value: Any, where: str) -> None:
    """Every string valid unicode, every number finite and within 64 bits, at any depth."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, place = stack.pop()
        if isinstance(item, str):
            check_unicode(item, place)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ImportFormatError(f"{place}: expected a finite number, got {item}")
        elif isinstance(item, int) and not -MAX_INTEGER <= item <= MAX_INTEGER:
            raise ImportFormatError(f"{place}: number too large (more than 64 bits)")
        elif isinstance(item, dict):
            for key, child in item.items():
                check_unicode(key, f"{place} (a key)")
                stack.append((child, f"{place}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{place}[{n}]") for n, child in enumerate(item))


def check_unicode(text: str, where: str) -> None:
    """Refuse text SQLite and UTF-8 files cannot hold (a lone surrogate from a \\ud800)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ImportFormatError(
            f"{where}: text with invalid unicode (a lone surrogate at character {error.start})"
        ) from None


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def type_names(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", dict: "an object", list: "a list", bool: "true/false"}
    names |= {int: "an integer", float: "a number", type(None): "null"}
    return " or ".join(dict.fromkeys(names[kind] for kind in kinds))


def parse_json(text: str) -> Any:
    """JSON text to Python values; NaN and Infinity are refused."""

    def refuse_constant(name: str) -> None:
        raise ImportFormatError(f"not valid JSON: {name} is not allowed")

    try:
        return json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as error:
        raise ImportFormatError(
            f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise ImportFormatError("not valid JSON: nested too deeply") from None
    except ImportFormatError:
        raise
    except ValueError as error:  # an integer of more than 4,300 digits
        raise ImportFormatError(f"not valid JSON: {error}") from None


def check_header(top: Fields) -> list[Any]:
    """The ``conversations`` list, after checking ``format`` and ``version`` if present."""
    if top.has("format") and top.data["format"] != FORMAT:
        raise top.fail("format", f"expected {FORMAT!r}, got {top.data['format']!r}")
    version = top.get("version", (int,), VERSION)
    if version > VERSION:
        raise top.fail("version", f"{version} is newer than this ChatDesk reads ({VERSION})")
    if version < 1:
        raise top.fail("version", f"expected a positive integer, got {version}")
    conversations: list[Any] = top.get("conversations", (list,), required=True)
    return conversations


def read_message(fields: Fields, cid: str, previous: str | None, seen: set[str]) -> Message:
    """One validated message; its parent must be listed before it."""
    mid = fields.text("id", new_id())
    if not mid or mid in seen:
        raise fields.fail("id", f"duplicate or empty message id {mid!r}")
    parent = fields.optional_text("parent_id") if fields.has("parent_id") else previous
    if parent is not None and parent not in seen:
        raise fields.fail("parent_id", f"{parent!r} is not a message listed before this one")
    numbers = {
        key: fields.number(key, key in INTEGER_STATS) for key in (*INTEGER_STATS, *FLOAT_STATS)
    }
    return Message(
        id=mid,
        conversation_id=cid,
        parent_id=parent,
        role=fields.choice("role", ROLES, "", required=True),
        content=fields.text("content", required=True),
        status=fields.choice("status", STATUSES, "complete"),
        created_at=fields.timestamp("created_at", utc_now()),
        model=fields.optional_text("model"),
        settings=fields.settings(),
        finish_reason=fields.optional_text("finish_reason"),
        n_ctx=fields.number("n_ctx", integer=True),  # type: ignore[arg-type]
        dropped_messages=fields.number("dropped_messages", integer=True),  # type: ignore[arg-type]
        error=fields.optional_text("error"),
        extra=fields.settings("extra"),
        model_identity=fields.settings("model_identity"),
        tool_calls=read_tool_calls(fields),
        tool_call_id=fields.optional_text("tool_call_id"),
        **numbers,  # type: ignore[arg-type]
    )


def read_tool_calls(fields: Fields) -> list[dict[str, Any]] | None:
    """An assistant message's tool calls: a list of objects, each naming its function."""
    calls: list[Any] | None = fields.get("tool_calls", (list, type(None)))
    for n, call in enumerate(calls or []):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise fields.fail(f"tool_calls[{n}]", "expected an object with function.name")
    return calls


def read_passages(fields: Fields) -> list[dict[str, Any]]:
    """A reply's document passages (``passages``: optional list of numbered objects)."""
    entries: list[Any] = fields.get("passages", (list,), [])
    passages = []
    for n, entry in enumerate(entries):
        item = Fields(entry, f"{fields.where}.passages[{n}]")
        numbers = {key: item.number(key, True) for key in ("number", "line_start", "line_end")}
        if any(value is None for value in numbers.values()):
            raise item.fail("number", "number, line_start and line_end are required integers")
        page = item.number("page", True)
        score = item.number("score", False)
        passages.append(
            {
                **numbers,
                "file": item.text("file", required=True),
                "page": page,
                "score": score or 0.0,
                "text": item.text("text", required=True),
            }
        )
    if len({p["number"] for p in passages}) != len(passages):
        raise fields.fail("passages", "two passages with the same number")
    return passages


def read_conversation(fields: Fields) -> ConversationPlan:
    """One validated conversation with its messages."""
    title = fields.text("title", required=True)
    cid = fields.text("id", new_id()) or new_id()
    entries = fields.get("messages", (list,), required=True)
    messages: list[Message] = []
    probabilities: dict[str, list[TokenChoice]] = {}
    passages: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        previous = messages[-1].id if messages else None
        entry_fields = Fields(entry, f"{fields.where}.messages[{n}]")
        message = read_message(entry_fields, cid, previous, seen)
        if found := read_passages(entry_fields):
            passages[message.id] = found
        seen.add(message.id)
        messages.append(message)
        kept = entry_fields.probabilities()
        if kept is not None:
            probabilities[message.id] = kept
    created = fields.timestamp(
        "created_at", min((m.created_at for m in messages), default=utc_now())
    )
    leaf = fields.optional_text("active_leaf_id")
    if leaf is not None and leaf not in seen:
        raise fields.fail("active_leaf_id", f"{leaf!r} is not one of this conversation's messages")
    if leaf is None and messages:  # missing or null: show the branch of the last message
        leaf = messages[-1].id
    conversation = Conversation(
        id=cid,
        title=title,
        created_at=created,
        updated_at=fields.timestamp(
            "updated_at", max([created, *(m.created_at for m in messages)])
        ),
        model=fields.optional_text("model"),
        system_prompt=fields.text("system_prompt", ""),
        settings=fields.settings(),
        pinned=fields.get("pinned", (bool,), False),
        active_leaf_id=leaf,
        model_identity=fields.settings("model_identity"),
        examples=fields.examples(),
    )
    check_values(fields.data, fields.where)  # what the typed reads above did not look at
    return ConversationPlan(conversation, messages, probabilities, passages)


def read_document(text: str) -> list[ConversationPlan]:
    """Every conversation of an import file, validated; nothing is written."""
    entries = check_header(Fields(parse_json(text), "file"))
    return [
        read_conversation(Fields(entry, f"conversations[{n}]")) for n, entry in enumerate(entries)
    ]


COPY_MARK = "(imported copy)"


def with_fresh_ids(plan: ConversationPlan) -> ConversationPlan:
    """The same conversation under new ids (its ids were already taken), its title marked
    as a copy."""
    cid = new_id()
    mapping = {m.id: new_id() for m in plan.messages}
    messages = [
        replace(m, id=mapping[m.id], conversation_id=cid, parent_id=mapping.get(m.parent_id or ""))
        for m in plan.messages
    ]
    leaf = plan.conversation.active_leaf_id
    title = f"{plan.conversation.title} {COPY_MARK}"  # told apart from the one already here
    conversation = replace(
        plan.conversation, id=cid, title=title, active_leaf_id=mapping.get(leaf or "")
    )
    probabilities = {mapping[mid]: kept for mid, kept in plan.probabilities.items()}
    passages = {mapping[mid]: found for mid, found in plan.passages.items()}
    return ConversationPlan(conversation, messages, probabilities, passages)


def ids_taken(store: Store, plan: ConversationPlan, claimed: set[str]) -> bool:
    """Whether any id of the plan is already in the database or earlier in the file."""
    ids = [plan.conversation.id, *(m.id for m in plan.messages)]
    if any(i in claimed for i in ids):
        return True
    return store.ids_exist(ids)


def insert_plan(store: Store, plan: ConversationPlan) -> None:
    store.insert_conversation(replace(plan.conversation, active_leaf_id=None))
    for message in plan.messages:
        store.insert_message(message)
    for mid, kept in plan.probabilities.items():
        store.save_token_probabilities(mid, kept)
    for message_id, passages in plan.passages.items():
        store.save_passages(message_id, passages)
    if plan.conversation.active_leaf_id is not None:
        store.set_active_leaf(plan.conversation.id, plan.conversation.active_leaf_id)


def import_text(store: Store, text: str) -> ImportResult:
    """Import every conversation of a JSON document, all or nothing."""
    plans = read_document(text)
    claimed: set[str] = set()
    inserted = []
    with store.transaction():
        for n, read in enumerate(plans):
            plan = with_fresh_ids(read) if ids_taken(store, read, claimed) else read
            claimed.update([plan.conversation.id, *(m.id for m in plan.messages)])
            try:
                insert_plan(store, plan)
            except StoreError as error:
                raise ImportFormatError(f"conversations[{n}]: {error}") from error
            except UnicodeEncodeError:
                raise ImportFormatError(
                    f"conversations[{n}]: text with invalid unicode (a lone surrogate)"
                ) from None
            inserted.append(plan)
    count = sum(len(plan.messages) for plan in inserted)
    renumbered = sum(a is not b for a, b in zip(plans, inserted, strict=True))
    return ImportResult([plan.conversation.id for plan in inserted], count, renumbered)


def import_file(store: Store, path: Path) -> ImportResult:
    """Import a JSON file; errors name the file and what is wrong, and nothing is written."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportFormatError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFormatError(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        return import_text(store, text)
    except ImportFormatError as error:
        raise ImportFormatError(f"{path}: {error}") from None
