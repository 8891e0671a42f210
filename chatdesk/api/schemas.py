"""Request bodies of the API, validated by pydantic (FastAPI turns failures into 400s).

Field names and meanings follow OpenAI's API; ``top_k``, ``min_p``, ``repeat_penalty`` and
``ignore_eos`` are the llama.cpp extensions llama-server also takes; ``logprobs`` /
``top_logprobs`` ask a chat completion for token probabilities (OpenAI's ``logprobs``
object); ``response_format`` asks for JSON (the engine enforces it or refuses it).
A chat body becomes one ``ChatRequest`` (``ChatCompletionRequest.chat_request``), the value
every engine takes. A field this server does not take (``tools``, ``logit_bias``, ...) is
refused with a 400 naming it (``unsupported_fields``), never ignored; fields sent as null
are taken as absent. Values are range-checked here; the limit on ``max_tokens`` is the
server's (``ApiConfig.max_tokens_limit``) and is checked by the app.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chatdesk.engine.request import ChatRequest, Message, ResponseFormat, Role
from chatdesk.engine.types import SamplingSettings
from chatdesk.probabilities.formats import MAX_LOGPROBS, requested_alternatives

MAX_STOP_STRINGS = 16
ROLES_IN: dict[str, Role] = {
    "system": "system", "developer": "system", "user": "user", "assistant": "assistant"
}  # fmt: skip
SAMPLING_NAMES = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repeat_penalty",
    "presence_penalty",
    "frequency_penalty",
    "seed",
)


class Strict(BaseModel):
    """A body part whose unknown fields are kept, to be refused by name (not ignored)."""

    model_config = ConfigDict(extra="allow")

    def unsupported_fields(self, where: str = "") -> list[str]:
        """The fields given (not null) that this server does not take."""
        extra = self.model_extra or {}
        return [f"{where}{name}" for name, value in extra.items() if value is not None]


class TextPart(BaseModel):
    """One part of a multi-part message: only text is taken."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str


class ChatMessageIn(Strict):
    """One chat message."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        """The message text (parts joined)."""
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    """``stream_options``."""

    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class JsonSchemaIn(BaseModel):
    """``response_format.json_schema``."""

    model_config = ConfigDict(extra="ignore")
    name: str = ""
    schema_: Annotated[dict[str, Any], Field(alias="schema")]
    strict: bool | None = None


class ResponseFormatIn(BaseModel):
    """``response_format``: text, any JSON object, or JSON matching a schema."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaIn | None = None

    def value(self) -> ResponseFormat:
        """As the engine takes it."""
        if self.type != "json_schema":
            return ResponseFormat(self.type)
        if self.json_schema is None:
            raise ValueError("response_format: json_schema needs a json_schema object")
        given = self.json_schema
        strict = True if given.strict is None else given.strict
        return ResponseFormat("json_schema", given.schema_, given.name, strict)


class SamplingFields(Strict):
    """Fields shared by chat and text completions."""

    model: str
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    top_k: Annotated[int, Field(ge=0, le=1000)] | None = None
    min_p: Annotated[float, Field(ge=0, le=1)] | None = None
    repeat_penalty: Annotated[float, Field(ge=0.5, le=2)] | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    stop: str | Annotated[list[str], Field(max_length=MAX_STOP_STRINGS)] | None = None
    n: Annotated[int, Field(ge=1, le=1)] = 1
    ignore_eos: bool = False
    user: str | None = None
    logprobs: bool | None = None  # chat completions: token probabilities in the answer
    top_logprobs: Annotated[int, Field(ge=0, le=MAX_LOGPROBS)] | None = None

    def wanted_max_tokens(self) -> int | None:
        """``max_completion_tokens`` (newer name) or ``max_tokens``."""
        return self.max_completion_tokens or self.max_tokens

    def sampling(self, max_tokens: int) -> SamplingSettings:
        """Engine settings: given values over the engine's defaults."""
        values = SamplingSettings().to_dict()
        for name in SAMPLING_NAMES:
            if getattr(self, name) is not None:
                values[name] = getattr(self, name)
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        values.update(
            max_tokens=max_tokens, stop=tuple(s for s in stop if s), ignore_eos=self.ignore_eos
        )
        values["logprobs"] = requested_alternatives(self.logprobs, self.top_logprobs)
        return SamplingSettings.from_dict(values)

    def include_usage(self) -> bool:
        """Whether a streamed answer ends with a usage chunk."""
        return bool(self.stream_options and self.stream_options.include_usage)


class ChatCompletionRequest(SamplingFields):
    """``POST /v1/chat/completions``."""

    messages: Annotated[list[ChatMessageIn], Field(min_length=1)]
    response_format: ResponseFormatIn | None = None

    def unsupported_fields(self, where: str = "") -> list[str]:
        """Unknown fields of the body and of each message."""
        found = super().unsupported_fields(where)
        for index, message in enumerate(self.messages):
            found += message.unsupported_fields(f"messages[{index}].")
        return found

    def chat_request(self, sampling: SamplingSettings) -> ChatRequest:
        """The body as the engine's request: leading system (or developer) messages make
        the system prompt; ValueError when no other message is left."""
        system: list[str] = []
        messages: list[Message] = []
        for message in self.messages:
            role = ROLES_IN[message.role]
            if role == "system" and not messages:
                system.append(message.text())
            else:
                messages.append(Message.of(role, message.text(), name=message.name))
        if not messages:
            raise ValueError("messages: at least one user message is needed")
        wanted = self.response_format.value() if self.response_format else None
        return ChatRequest(tuple(messages), "\n\n".join(system), sampling, response_format=wanted)


class CompletionRequest(SamplingFields):
    """``POST /v1/completions`` (one prompt)."""

    prompt: str | Annotated[list[str], Field(min_length=1, max_length=1)]

    def prompt_text(self) -> str:
        """The one prompt."""
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]
