"""One request value: everything an engine is asked for one reply (or one rendering).

``ChatRequest`` is built once, by the turn service or the API server, and travels unchanged
to every engine: the local engine host (``to_wire`` -> one JSON frame -> ``from_wire``,
validated on arrival), remote OpenAI-compatible servers (mapped onto the request body) and
the API server's scheduling lane (passed through as it is). It is immutable: a caller that
needs a variant uses ``replace``.

Shape:

- ``messages``: ``Message`` values, oldest first. Content is a tuple of parts (only
  ``TextPart`` today; image parts join the union later). Leading messages marked
  ``example`` are few-shot examples (``examples``): pinned, never dropped to fit the
  context. When the last message is the assistant's, the engine continues that unfinished
  reply (``continues``).
- ``sampling``: ``SamplingSettings`` (engine/types.py), the one source of sampling
  defaults. ``logprobs`` here and ``sampling.logprobs`` always agree (either may be set).
- ``tools`` / ``tool_choice`` / ``parallel_tool_calls``: function tools in OpenAI's sense.
- ``response_format``: plain text, any JSON object, or JSON matching a schema.
- ``reserved_tokens``: room the context fit keeps free for what joins the question at
  Send and not at a warm made before it (document passages; ``context_fit``), so both cut
  the history at the same place.

An engine that cannot honour a field refuses the whole request up front (see
``chatdesk.engine.capabilities.unsupported``); it never drops a field silently. Adding a
field is: the field here (a plain field travels and is checked on the wire by its declared
type; a structured one adds its encoder/decoder in ``request_wire``), a capability where
some engine cannot honour it, and the engines that honour it. docs/architecture/
engine-request.md has the design and one reply's path.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from chatdesk.engine.capabilities import EngineCapabilities, RenderedPrompt, unsupported
from chatdesk.engine.types import MAX_LOGPROBS, EngineError, ErrorCode, SamplingSettings

__all__ = [
    "ChatRequest",
    "EngineCapabilities",
    "Message",
    "RenderedPrompt",
    "ResponseFormat",
    "Role",
    "TextPart",
    "ToolCall",
    "ToolChoice",
    "ToolSpec",
    "unsupported",
]

Role = Literal["system", "user", "assistant", "tool"]
ToolChoiceMode = Literal["auto", "none", "required", "named"]
ResponseType = Literal["text", "json_object", "json_schema"]
ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")
TOOL_CHOICE_MODES = ("auto", "none", "required", "named")
RAM_ONLY_KEY = "~"  # a conversation_key that starts with it: the engine keeps its state in
# RAM only, never on disk (the API server's conversations: a client sending many one-off
# prompts would otherwise write one state each and push the window's chats off the disk)
RESPONSE_TYPES = ("text", "json_object", "json_schema")
JSONObject = str | Mapping[str, Any]  # stored as canonical JSON text


def bad_request(message: str) -> EngineError:
    """The error for a request that is not well formed."""
    return EngineError(f"bad request: {message}", ErrorCode.BAD_REQUEST)


def canonical_json(value: JSONObject, what: str) -> str:
    """``value`` (a mapping, or JSON text of an object) as compact JSON text.

    Keys keep the order they were written in: a schema's property order is the order a
    constrained reply writes them in (a "reasoning" field before its "answer"), so sorting
    them would change the reply."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise bad_request(f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, Mapping):
        raise bad_request(f"{what} must be a JSON object, not {type(value).__name__}")
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise bad_request(f"{what} cannot be written as JSON: {error}") from None


@dataclass(frozen=True)
class TextPart:
    """Plain text content."""

    text: str


ContentPart = TextPart  # the union grows (image parts) as engines learn to take them


@dataclass(frozen=True)
class ToolCall:
    """One function call an assistant message made; ``arguments`` is JSON text as written."""

    id: str
    name: str
    arguments: str = "{}"

    def arguments_value(self) -> Any:
        """The arguments parsed (a dict, normally); the text itself when it is not JSON."""
        try:
            return json.loads(self.arguments)
        except ValueError:
            return self.arguments

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI API's ``{"id", "type", "function": {"name", "arguments"}}``."""
        function = {"name": self.name, "arguments": self.arguments}
        return {"id": self.id, "type": "function", "function": function}


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    content: tuple[ContentPart, ...]
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    example: bool = False  # a pinned few-shot example
    reasoning: str = ""  # the model's reasoning before its reply, when it gave one

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise bad_request(f"message role must be one of {', '.join(ROLES)}, not {self.role!r}")
        if not isinstance(self.content, tuple):  # a list given by mistake: keep it immutable
            object.__setattr__(self, "content", tuple(self.content))
        if not isinstance(self.tool_calls, tuple):
            object.__setattr__(self, "tool_calls", tuple(self.tool_calls))

    @classmethod
    def of(cls, role: Role, text: str, **changes: Any) -> Message:
        """A message of one text part."""
        return cls(role, (TextPart(text),) if text else (), **changes)

    @property
    def text(self) -> str:
        """The text of every text part, joined."""
        return "".join(part.text for part in self.content if isinstance(part, TextPart))

    def to_template(self) -> dict[str, Any]:
        """The message as chat templates (and context fitting) take it: a plain dict,
        tool-call arguments parsed, the example mark kept."""
        out: dict[str, Any] = {"role": self.role, "content": self.text}
        if self.tool_calls:
            out["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments_value()}}
                for c in self.tool_calls
            ]  # fmt: skip
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        if self.reasoning:
            out["reasoning_content"] = self.reasoning
        if self.example:
            out["example"] = True
        return out

    @classmethod
    def from_chat(cls, data: Mapping[str, Any]) -> Message:
        """A message from a chat dict (the store's and templates' shape, or the OpenAI
        API's: content as text or a list of text parts; tool-call arguments as text or a
        dict). BAD_REQUEST for anything else."""
        from chatdesk.engine.request_wire import message_from_chat

        return message_from_chat(data)


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call: its name, what it does, and a JSON schema of its
    parameters (stored as canonical JSON text; ``schema`` gives the dict)."""

    name: str
    description: str = ""
    parameters: JSONObject = "{}"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise bad_request("a tool needs a name")
        object.__setattr__(
            self, "parameters", canonical_json(self.parameters, f"tool {self.name}'s parameters")
        )

    @property
    def schema(self) -> dict[str, Any]:
        """The parameters' JSON schema as a dict."""
        return dict(json.loads(str(self.parameters)))

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI API's (and chat templates') ``{"type": "function", "function": ...}``."""
        function = {"name": self.name, "description": self.description}
        return {"type": "function", "function": {**function, "parameters": self.schema}}

    @classmethod
    def from_openai(cls, data: Mapping[str, Any]) -> ToolSpec:
        """From ``{"type": "function", "function": {...}}`` or the bare function dict."""
        from chatdesk.engine.request_wire import tool_from_openai

        return tool_from_openai(data)


@dataclass(frozen=True)
class ToolChoice:
    """Whether the model may (``auto``), must not (``none``), must (``required``) call a
    tool, or must call the one ``named``."""

    mode: ToolChoiceMode = "auto"
    name: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in TOOL_CHOICE_MODES:
            raise bad_request(f"tool_choice must be one of {', '.join(TOOL_CHOICE_MODES)}")
        if (self.mode == "named") != bool(self.name):
            raise bad_request("tool_choice 'named' needs a tool name (and only it takes one)")


@dataclass(frozen=True)
class ResponseFormat:
    """The shape the reply must have: any text, a JSON object, or JSON matching ``schema``
    (stored as canonical JSON text; ``schema_dict`` gives the dict)."""

    type: ResponseType = "text"
    schema: JSONObject | None = None
    name: str = ""
    strict: bool = True

    def __post_init__(self) -> None:
        if self.type not in RESPONSE_TYPES:
            raise bad_request(f"response_format must be one of {', '.join(RESPONSE_TYPES)}")
        if (self.type == "json_schema") != (self.schema is not None):
            raise bad_request("a json_schema response format needs a schema (and only it)")
        if self.schema is not None:
            object.__setattr__(self, "schema", canonical_json(self.schema, "the response schema"))

    @property
    def schema_dict(self) -> dict[str, Any] | None:
        """The JSON schema as a dict (None unless ``type`` is json_schema)."""
        return None if self.schema is None else dict(json.loads(str(self.schema)))


@dataclass(frozen=True)
class ChatRequest:
    """Everything an engine needs for one reply; see the module docstring."""

    messages: tuple[Message, ...]
    system_prompt: str = ""
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = field(default_factory=ToolChoice)
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None
    logprobs: int = 0  # 0: off; 1..MAX_LOGPROBS alternatives per token
    conversation_key: str | None = None  # lets the engine reuse this conversation's cache
    add_generation_prompt: bool = True  # render: end with the assistant's turn opening
    reserved_tokens: int = 0  # the fit keeps them free for what joins the question at Send

    def __post_init__(self) -> None:
        for name in ("messages", "tools"):
            if not isinstance(getattr(self, name), tuple):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        self._agree_on_logprobs()
        self._check_tools()
        self._check_examples()
        if self.reserved_tokens < 0:
            raise bad_request(f"reserved_tokens must be 0 or more, not {self.reserved_tokens}")

    def _agree_on_logprobs(self) -> None:
        mine, sampled = self.logprobs, self.sampling.logprobs
        if mine and sampled and mine != sampled:
            raise bad_request(f"logprobs {mine} disagrees with sampling.logprobs {sampled}")
        wanted = mine or sampled
        if not isinstance(wanted, int) or not 0 <= wanted <= MAX_LOGPROBS:
            raise bad_request(f"logprobs must be 0 to {MAX_LOGPROBS}, not {wanted!r}")
        object.__setattr__(self, "logprobs", wanted)
        if sampled != wanted:
            object.__setattr__(
                self, "sampling", dataclasses.replace(self.sampling, logprobs=wanted)
            )

    def _check_tools(self) -> None:
        names = [tool.name for tool in self.tools]
        if len(set(names)) != len(names):
            raise bad_request(f"tool names must be unique: {', '.join(names)}")
        choice = self.tool_choice
        if choice.mode == "named" and choice.name not in names:
            raise bad_request(f"tool_choice names {choice.name!r}, which is not among the tools")
        if choice.mode == "required" and not names:
            raise bad_request("tool_choice 'required' needs at least one tool")

    def _check_examples(self) -> None:
        pinned = len(self.examples)
        if any(m.example for m in self.messages[pinned:]):
            raise bad_request("few-shot examples must come before the conversation")

    # -- derived ----------------------------------------------------------------------

    @property
    def continues(self) -> bool:
        """True when the last message is an unfinished assistant reply to carry on."""
        return bool(self.messages) and self.messages[-1].role == "assistant"

    @property
    def examples(self) -> tuple[Message, ...]:
        """The leading few-shot example messages."""
        count = 0
        while count < len(self.messages) and self.messages[count].example:
            count += 1
        return self.messages[:count]

    def template_messages(self) -> list[dict[str, Any]]:
        """The messages as chat templates and context fitting take them (plain dicts)."""
        return [message.to_template() for message in self.messages]

    def openai_tools(self) -> list[dict[str, Any]] | None:
        """The tools as the OpenAI API and chat templates take them (None when none)."""
        return [tool.to_openai() for tool in self.tools] or None

    def replace(self, **changes: Any) -> ChatRequest:
        """A copy with ``changes`` (validated like a new request)."""
        return dataclasses.replace(self, **changes)

    # -- wire -------------------------------------------------------------------------

    def to_wire(self) -> dict[str, Any]:
        """The request as one JSON-ready object (the engine-host frame's ``request``)."""
        from chatdesk.engine.request_wire import request_to_wire

        return request_to_wire(self)

    @classmethod
    def from_wire(cls, data: Any) -> ChatRequest:
        """Rebuild and validate ``to_wire`` output; BAD_REQUEST with a clear message for
        anything malformed (unknown keys included: nothing is dropped)."""
        from chatdesk.engine.request_wire import request_from_wire

        return request_from_wire(data)

    @classmethod
    def of(cls, messages: Sequence[Mapping[str, Any] | Message], **fields: Any) -> ChatRequest:
        """A request from chat dicts (or messages), for callers that hold dicts."""
        return cls(
            tuple(m if isinstance(m, Message) else Message.from_chat(m) for m in messages),
            **fields,
        )
