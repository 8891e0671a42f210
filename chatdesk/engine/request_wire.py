"""``ChatRequest`` <-> one JSON object, checked field by field on the way in.

The engine host receives requests from the app over a pipe, the API server from the
network: both are untrusted input. ``request_from_wire`` accepts exactly what
``request_to_wire`` writes: every key known, every value of the right type; anything else
is an ``EngineError`` (``bad_request``) that names the offending field, so a peer that
sends a field this side does not know learns it at once instead of having it dropped.

``message_from_chat`` and ``tool_from_openai`` read the looser shapes callers already hold
(the store's chat dicts, the OpenAI API's messages and tools).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from chatdesk.engine.request import (
    ChatRequest,
    Message,
    ResponseFormat,
    ResponseType,
    Role,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
    bad_request,
)
from chatdesk.engine.types import EngineError, SamplingSettings

ROLES: dict[str, Role] = {
    "system": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}
MODES: dict[str, ToolChoiceMode] = {
    "auto": "auto",
    "none": "none",
    "required": "required",
    "named": "named",
}
FORMATS: dict[str, ResponseType] = {
    "text": "text",
    "json_object": "json_object",
    "json_schema": "json_schema",
}
_SAMPLING = {f.name: f for f in dataclasses.fields(SamplingSettings)}


# -- out ------------------------------------------------------------------------------


def message_to_wire(message: Message) -> dict[str, Any]:
    """One message as JSON (defaults left out)."""
    out: dict[str, Any] = {
        "role": message.role,
        "content": [{"type": "text", "text": part.text} for part in message.content],
    }
    if message.tool_calls:
        out["tool_calls"] = [dataclasses.asdict(call) for call in message.tool_calls]
    for key in ("tool_call_id", "name"):
        if getattr(message, key) is not None:
            out[key] = getattr(message, key)
    if message.example:
        out["example"] = True
    if message.reasoning:
        out["reasoning"] = message.reasoning
    return out


def _tools_out(tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description, "parameters": t.schema} for t in tools]


def _format_out(wanted: ResponseFormat | None) -> dict[str, Any] | None:
    return None if wanted is None else {**dataclasses.asdict(wanted), "schema": wanted.schema_dict}


# The fields that are not plain JSON values; every other field travels as it is.
ENCODERS: dict[str, Callable[[Any], Any]] = {
    "messages": lambda messages: [message_to_wire(m) for m in messages],
    "sampling": lambda sampling: sampling.to_dict(),
    "tools": _tools_out,
    "tool_choice": dataclasses.asdict,
    "response_format": _format_out,
}


def request_to_wire(request: ChatRequest) -> dict[str, Any]:
    """The whole request as one JSON-ready object (every field, by its name)."""
    out: dict[str, Any] = {}
    for item in dataclasses.fields(request):
        value = getattr(request, item.name)
        encode = ENCODERS.get(item.name)
        out[item.name] = encode(value) if encode else value
    return out


# -- in -------------------------------------------------------------------------------


def _object(
    data: Any, what: str, allowed: set[str], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise bad_request(f"{what} must be a JSON object, not {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise bad_request(f"{what} has unknown field(s): {', '.join(map(str, unknown))}")
    missing = [key for key in required if key not in data]
    if missing:
        raise bad_request(f"{what} lacks {', '.join(missing)}")
    return dict(data)


def _typed[T](data: dict[str, Any], key: str, kind: type[T], what: str, default: T) -> T:
    value = data.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise bad_request(f"{what}.{key} must be {kind.__name__}, not {type(value).__name__}")
    return value


def _optional[T](data: dict[str, Any], key: str, kind: type[T], what: str) -> T | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind):
        raise bad_request(f"{what}.{key} must be {kind.__name__}, not {type(value).__name__}")
    return value


def _choice[L: str](value: str, allowed: Mapping[str, L], what: str) -> L:
    """``value`` as one of the Literal values in ``allowed`` (a clear error otherwise)."""
    if value not in allowed:
        raise bad_request(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return allowed[value]


def _items[T](value: Any, what: str, read: Callable[[Any, str], T]) -> tuple[T, ...]:
    """A JSON list (absent: empty), each item read by ``read``."""
    value = [] if value is None else value
    if not isinstance(value, list):
        raise bad_request(f"{what} must be a list")
    return tuple(read(item, f"{what}[{i}]") for i, item in enumerate(value))


def _part(data: Any, what: str) -> TextPart:
    part = _object(data, what, {"type", "text"}, ("type",))
    if part["type"] != "text":
        raise bad_request(f"{what}: content parts of type {part['type']!r} are not supported")
    return TextPart(_typed(part, "text", str, what, ""))


def _call(data: Any, what: str) -> ToolCall:
    call = _object(data, what, {"id", "name", "arguments"}, ("name",))
    return ToolCall(
        _typed(call, "id", str, what, ""),
        _typed(call, "name", str, what, ""),
        _typed(call, "arguments", str, what, "{}"),
    )


MESSAGE_KEYS = {"role", "content", "tool_calls", "tool_call_id", "name", "example", "reasoning"}


def message_from_wire(data: Any, what: str = "message") -> Message:
    """One message from ``message_to_wire`` output, checked."""
    message = _object(data, what, MESSAGE_KEYS, ("role",))
    return Message(
        _choice(_typed(message, "role", str, what, "user"), ROLES, f"{what}.role"),
        _items(message.get("content"), f"{what}.content", _part),
        _items(message.get("tool_calls"), f"{what}.tool_calls", _call),
        _optional(message, "tool_call_id", str, what),
        _optional(message, "name", str, what),
        _typed(message, "example", bool, what, False),
        _typed(message, "reasoning", str, what, ""),
    )


def _tool(data: Any, what: str) -> ToolSpec:
    tool = _object(data, what, {"name", "description", "parameters"}, ("name",))
    return ToolSpec(
        _typed(tool, "name", str, what, ""),
        _typed(tool, "description", str, what, ""),
        _typed(tool, "parameters", dict, what, {}),
    )


def sampling_from_wire(data: Any, what: str = "sampling") -> SamplingSettings:
    """Sampling settings, every field checked against its declared type."""
    sampling = _object(data if data is not None else {}, what, set(_SAMPLING))
    checked: dict[str, Any] = {}
    for key, value in sampling.items():
        default = _SAMPLING[key].default
        if key == "stop":
            if not isinstance(value, list | tuple) or not all(isinstance(s, str) for s in value):
                raise bad_request(f"{what}.stop must be a list of strings")
            checked[key] = tuple(value)
        elif value is None and key in ("seed", "max_tokens"):
            checked[key] = None
        else:
            kind = type(default) if default is not None else int
            checked[key] = _typed(sampling, key, kind, what, default)
    return SamplingSettings(**checked)


def _tool_choice(data: Any, what: str) -> ToolChoice:
    choice = _object(data or {}, what, {"mode", "name"})
    return ToolChoice(
        _choice(_typed(choice, "mode", str, what, "auto"), MODES, what),
        _optional(choice, "name", str, what),
    )


# The fields that are not plain JSON values: how each is read back (and checked).
DECODERS: dict[str, Callable[[Any, str], Any]] = {
    "messages": lambda data, what: _items(data, what, message_from_wire),
    "sampling": sampling_from_wire,
    "tools": lambda data, what: _items(data, what, _tool),
    "tool_choice": _tool_choice,
    "response_format": lambda data, _what: _response_format(data),
}


def _scalar(value: Any, hint: Any, what: str) -> Any:
    """``value`` checked against a plain field's type (str, int, float, bool, a Literal,
    or a union of those with None)."""
    options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    for option in options:
        if get_origin(option) is Literal:
            if value in get_args(option):
                return value
        elif option is type(None):
            if value is None:
                return None
        elif isinstance(value, bool) != (option is bool):
            continue
        elif isinstance(value, option):
            return value
        elif option is float and isinstance(value, int):
            return float(value)
    raise bad_request(f"{what} must be {getattr(hint, '__name__', hint)}, not {value!r}")


@functools.cache
def _request_hints() -> dict[str, Any]:
    """ChatRequest's field types (evaluated once)."""
    return get_type_hints(ChatRequest)


def request_from_wire(data: Any) -> ChatRequest:
    """A request from ``request_to_wire`` output; BAD_REQUEST for anything malformed."""
    hints = _request_hints()
    request = _object(data, "request", set(hints), ("messages",))
    fields: dict[str, Any] = {}
    for name, value in request.items():
        decode = DECODERS.get(name)
        what = f"request.{name}"
        fields[name] = decode(value, what) if decode else _scalar(value, hints[name], what)
    return ChatRequest(**fields)


def _response_format(data: Any) -> ResponseFormat | None:
    if data is None:
        return None
    what = "response_format"
    response = _object(data, what, {"type", "schema", "name", "strict"}, ("type",))
    return ResponseFormat(
        _choice(_typed(response, "type", str, what, "text"), FORMATS, what),
        _optional(response, "schema", dict, what),
        _typed(response, "name", str, what, ""),
        _typed(response, "strict", bool, what, True),
    )


# -- the shapes callers hold ----------------------------------------------------------


def _chat_content(content: Any, what: str) -> tuple[TextPart, ...]:
    if content is None or content == "":
        return ()
    if isinstance(content, str):
        return (TextPart(content),)
    if isinstance(content, list):
        return tuple(_part(item, f"{what}.content[{i}]") for i, item in enumerate(content))
    raise bad_request(f"{what}.content must be text or a list of parts")


def _chat_call(data: Any, what: str) -> ToolCall:
    if not isinstance(data, Mapping):
        raise bad_request(f"{what} must be an object")
    function = _function_of(data)
    arguments = function.get("arguments", "{}")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    name = function.get("name")
    if not isinstance(name, str):
        raise bad_request(f"{what} has no function name")
    return ToolCall(str(data.get("id") or ""), name, arguments)


def _function_of(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``function`` object of an OpenAI tool or call, or the bare dict itself."""
    function = data.get("function")
    return function if isinstance(function, Mapping) else data


def message_from_chat(data: Mapping[str, Any]) -> Message:
    """A message from a chat dict (see ``Message.from_chat``)."""
    what = f"{data.get('role', '?')} message" if isinstance(data, Mapping) else "message"
    if not isinstance(data, Mapping) or not isinstance(data.get("role"), str):
        raise bad_request("a chat message must be an object with a role")
    calls = data.get("tool_calls") or []
    if not isinstance(calls, list):
        raise bad_request(f"{what}.tool_calls must be a list")
    reasoning = next(
        (data[k] for k in ("reasoning_content", "reasoning", "thinking") if data.get(k)), ""
    )
    try:
        return Message(
            _choice(data["role"], ROLES, f"{what}.role"),
            _chat_content(data.get("content"), what),
            tuple(_chat_call(c, f"{what}.tool_calls[{i}]") for i, c in enumerate(calls)),
            _str_or_none(data.get("tool_call_id")),
            _str_or_none(data.get("name")),
            data.get("example") is True,
            str(reasoning),
        )
    except EngineError:
        raise
    except (TypeError, ValueError) as error:
        raise bad_request(f"{what}: {error}") from None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def tool_from_openai(data: Mapping[str, Any]) -> ToolSpec:
    """A tool from the OpenAI shape or a bare function dict."""
    if not isinstance(data, Mapping):
        raise bad_request("a tool must be an object")
    if data.get("type", "function") != "function":
        raise bad_request(f"tools of type {data.get('type')!r} are not supported")
    function = _function_of(data)
    name, description = function.get("name"), function.get("description") or ""
    if not isinstance(name, str) or not isinstance(description, str):
        raise bad_request("a tool needs a name (and a text description)")
    return ToolSpec(name, description, function.get("parameters") or {})
