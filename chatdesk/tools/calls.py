"""A tool call as the app handles it, and turning raw call data into one.

Model families spell a call differently (``arguments`` or ``parameters``, ``name`` or
``tool_name``, arguments as an object or as a JSON string); ``call_from_json`` accepts them
all and makes one ``ToolCall``. A call that cannot be understood is still a ``ToolCall``,
with ``error`` saying why: the tool loop sends that error back to the model as the call's
result so it can try again.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

NAME_KEYS = ("name", "tool_name", "function_name")
ARGUMENT_KEYS = ("arguments", "parameters", "args", "tool_input")


CALL_ID_ALPHABET = string.ascii_letters + string.digits
CALL_ID_LENGTH = 9  # Mistral's templates refuse any other id; every other template accepts it


def new_call_id() -> str:
    """An id for a call whose model gave none: 9 letters and digits."""
    return "".join(secrets.choice(CALL_ID_ALPHABET) for _ in range(CALL_ID_LENGTH))


@dataclass(frozen=True)
class ToolCall:
    """One call: ``arguments`` is a dict when the call could be read, else ``error`` says why."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_call_id)
    error: str | None = None

    def to_message(self) -> dict[str, Any]:
        """The OpenAI-style entry of an assistant message's ``tool_calls``."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }

    @classmethod
    def from_message(cls, entry: dict[str, Any]) -> ToolCall:
        """The inverse of ``to_message`` (arguments may be a JSON string there)."""
        call = call_from_json(entry)
        return call if call is not None else cls("", error="not a tool call")


def _arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    if raw is None:
        return {}, None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as error:
            return {}, f"the arguments are not valid JSON ({error.msg} at {error.pos})"
    if not isinstance(raw, dict):
        return {}, f"the arguments must be a JSON object, not {type(raw).__name__}"
    return raw, None


def call_from_json(data: Any, *, name: str | None = None) -> ToolCall | None:
    """A call from one decoded JSON object in any common shape; None when it is not one."""
    if not isinstance(data, dict):
        return None
    function = data.get("function")
    inner: dict[str, Any] = function if isinstance(function, dict) else data
    found = name or next((inner[k] for k in NAME_KEYS if isinstance(inner.get(k), str)), None)
    if not found:
        return None
    raw = next((inner[k] for k in ARGUMENT_KEYS if k in inner), None)
    arguments, error = _arguments(raw)
    call_id = data.get("id") or data.get("tool_call_id")
    return ToolCall(found, arguments, str(call_id) if call_id else new_call_id(), error)


_NAME_IN_TEXT = re.compile(r'"(?:name|tool_name)"\s*:\s*"([^"]{1,200})"')


def malformed(reason: str, name: str = "", text: str = "") -> ToolCall:
    """A call that was started but could not be read (named when its text shows a name)."""
    if not name and (found := _NAME_IN_TEXT.search(text)):
        name = found[1]
    return ToolCall(name, {}, new_call_id(), reason)


def call_with_arguments(name: str, text: str, call_id: str | None = None) -> ToolCall:
    """A call whose name the format gave, with the JSON object of arguments in ``text``."""
    values, _rest = json_values(text.strip())
    if not values:
        return malformed("the arguments are not valid JSON", name)
    arguments, error = _arguments(values[0])
    return ToolCall(name, arguments, call_id or new_call_id(), error)


def json_values(text: str) -> tuple[list[Any], str]:
    """Consecutive JSON values at the start of ``text`` (separated by whitespace, commas or
    semicolons), and what follows them."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n,;":
            position += 1
        if position >= len(text) or text[position] not in "[{":
            return values, text[position:]
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            return values, text[position:]
        values.append(value)


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|"')


def json_extent(text: str, start: int) -> int | None:
    """Where the JSON object or array that opens at ``text[start]`` ends (brackets balanced,
    strings skipped); None while it is unfinished. Says nothing of whether it is valid."""
    depth = 0
    for token in _JSON_TOKENS.finditer(text, start):
        kind = token[0]
        if kind == '"':
            return None  # a string still open
        if kind in "[{":
            depth += 1
        elif kind in "]}":
            depth -= 1
            if depth == 0:
                return token.end()
    return None


def _call_shaped(item: Any, names: frozenset[str]) -> bool:
    """A bare JSON object that is a call: a name and arguments (or the name of a real tool)."""
    if not isinstance(item, dict):
        return False
    if isinstance(item.get("function"), dict):
        return "name" in item["function"]
    name = next((item[k] for k in NAME_KEYS if isinstance(item.get(k), str)), None)
    return bool(name) and (any(k in item for k in ARGUMENT_KEYS) or name in names)


def calls_in_value(value: Any, names: frozenset[str] = frozenset()) -> list[ToolCall] | None:
    """The calls a bare JSON value written in a reply makes: a call, a list of calls, or the
    generic wrappers ``{"tool_calls": [...]}`` / ``{"tool_call": {...}}``; None when the
    value is not one (it is then text the model wrote)."""
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        items = value["tool_calls"]
        return [
            call_from_json(i) or malformed("a tool call needs a name", text=str(i)) for i in items
        ]
    if isinstance(value, dict) and isinstance(value.get("tool_call"), dict):
        value = value["tool_call"]
    items = value if isinstance(value, list) else [value]
    if not items or not all(_call_shaped(item, names) for item in items):
        return None
    return [call for item in items if (call := call_from_json(item)) is not None]


def calls_from_json_text(text: str) -> tuple[list[ToolCall], str]:
    """Calls written as JSON objects or arrays of objects; the unread rest of ``text``.
    Text that starts like JSON but does not parse gives one malformed call."""
    values, rest = json_values(text)
    calls: list[ToolCall] = []
    for value in values:
        if isinstance(value, dict) and ("tool_calls" in value or "tool_call" in value):
            calls.extend(calls_in_value(value) or [malformed("the tool_calls list is empty")])
            continue
        for item in value if isinstance(value, list) else [value]:
            call = call_from_json(item)
            calls.append(call or malformed("a tool call needs a name and arguments"))
    if not values and rest.strip():
        calls.append(malformed("the tool call is not valid JSON", text=rest))
        rest = ""
    return calls, rest
