"""Request bodies of the API, validated by pydantic (FastAPI turns failures into 400s).

Field names and meanings follow OpenAI's API; ``top_k``, ``min_p``, ``repeat_penalty`` and
``ignore_eos`` are the llama.cpp extensions llama-server also takes; ``logprobs`` /
``top_logprobs`` ask a chat completion for token probabilities (OpenAI's ``logprobs``
object), ``logprobs: N`` a text completion (the legacy API's form); ``response_format``
asks for JSON (the engine enforces it or refuses it). A chat body becomes one
``ChatRequest`` (``ChatCompletionRequest.chat_request``), the value every engine takes.
``tools`` / ``tool_choice`` / ``parallel_tool_calls`` are OpenAI
function calling (``chatdesk.api.tool_calls``). A field this server does not take
(``logit_bias``, ...) is refused with a 400 naming it (``unsupported_fields``), never
ignored; fields sent as null are taken as absent. The exceptions change nothing a reply
holds: ``store`` and ``metadata`` (what OpenAI keeps for its dashboard; this server keeps
nothing) are taken and ignored, ``user`` only sets whose queue a request waits in, and
``seed: -1`` is llama.cpp's "a random seed", as no seed. Parts a text model cannot read
(an image) and several prompts are refused in words, not as pydantic's type errors.
Values are range-checked here, and text must be valid Unicode (JSON's ``\ud800`` escapes
can carry a lone surrogate, which no model can read: 400, before anything reaches the
engine); the limit on ``max_tokens`` is the server's (``ApiConfig.max_tokens_limit``),
checked by the app.

A client of the API sends the whole conversation each time and names none, so the request
gets a ``conversation_key`` from its content (``conversation_key``): the engine keeps each
conversation's state under it, and a client that moves between conversations (two chats in
a web front end, several users, an agent with sub-tasks) has its turn read only what is new,
not the whole history again each time it comes back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from chatdesk.engine.request import (
    RAM_ONLY_KEY,
    ChatRequest,
    Message,
    ResponseFormat,
    Role,
    ToolChoice,
    ToolSpec,
)
from chatdesk.engine.types import SamplingSettings
from chatdesk.probabilities.formats import MAX_LOGPROBS, requested_alternatives

MAX_STOP_STRINGS = 16
TEXT_ONLY = "this server serves text models"
NOT_TEXT = {"image_url": "image", "input_audio": "audio", "file": "file"}  # OpenAI's parts
ROLES_IN: dict[str, Role] = {
    "system": "system", "developer": "system", "user": "user", "assistant": "assistant",
    "tool": "tool",
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


def valid_unicode(text: str) -> str:
    """``text`` unchanged, or ValueError when it holds a lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = ord(text[error.start])
        raise ValueError(
            f"text holds a lone surrogate (\\u{bad:04x} at character {error.start}), "
            "which is not valid Unicode"
        ) from None
    return text


Text = Annotated[str, AfterValidator(valid_unicode)]


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
    text: Text


class FunctionCallIn(BaseModel):
    """The ``function`` of a call an earlier assistant message made."""

    model_config = ConfigDict(extra="ignore")
    name: str
    arguments: str | dict[str, Any] = "{}"


class ToolCallIn(BaseModel):
    """One entry of an assistant message's ``tool_calls``."""

    model_config = ConfigDict(extra="ignore")
    id: str = ""
    type: Literal["function"] = "function"
    function: FunctionCallIn


class FunctionDef(BaseModel):
    """A function the model may call: name, description, JSON schema of its parameters."""

    model_config = ConfigDict(extra="ignore")
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    strict: bool | None = None


class ToolDef(BaseModel):
    """One entry of ``tools``."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(BaseModel):
    """``{"name": ...}`` of a named tool choice."""

    name: str


class NamedToolChoice(BaseModel):
    """``tool_choice: {"type": "function", "function": {"name": ...}}``."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["function"]
    function: NamedFunction


class ChatMessageIn(Strict):
    """One chat message (``tool`` messages carry a call's result)."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Text | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _text_parts_only(cls, content: Any) -> Any:
        """Refuse an image (or any part but text) in words, before the union's type errors."""
        for part in content if isinstance(content, list) else ():
            kind = part.get("type") if isinstance(part, dict) else "text"
            if kind != "text":
                what = f"{NOT_TEXT[kind]} content" if kind in NOT_TEXT else f"a {kind!r} part"
                raise ValueError(f"{what} is not supported: {TEXT_ONLY}")
        return content

    @model_validator(mode="after")
    def _answers_a_call(self) -> ChatMessageIn:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a message of role 'tool' needs the tool_call_id it answers")
        return self

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

    model: Text
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    top_k: Annotated[int, Field(ge=0, le=1000)] | None = None
    min_p: Annotated[float, Field(ge=0, le=1)] | None = None
    repeat_penalty: Annotated[float, Field(ge=0.5, le=2)] | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    seed: Annotated[int, Field(ge=-1, le=2**63 - 1)] | None = None  # -1: random (llama.cpp)
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    stop: Text | Annotated[list[Text], Field(max_length=MAX_STOP_STRINGS)] | None = None
    n: Annotated[int, Field(ge=1, le=1)] = 1
    ignore_eos: bool = False
    user: Text | None = None  # taken for fair queueing (``client_key``)
    store: bool | None = None  # taken and ignored: this server keeps nothing for OpenAI
    metadata: dict[str, str] | None = None  # taken and ignored (it goes with ``store``)

    @field_validator("seed")
    @classmethod
    def _random_seed(cls, seed: int | None) -> int | None:
        """llama.cpp's -1 ("a random seed") as no seed."""
        return None if seed == -1 else seed

    def probabilities(self) -> tuple[bool, int]:
        """Whether the answer has token probabilities, and how many alternatives each."""
        return False, 0

    def alternatives(self) -> int | None:
        """Alternatives per token of the probabilities asked for (None: none asked for)."""
        asked, top = self.probabilities()
        return min(top, MAX_LOGPROBS) if asked else None

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
        values["logprobs"] = requested_alternatives(*self.probabilities())
        return SamplingSettings.from_dict(values)

    def include_usage(self) -> bool:
        """Whether a streamed answer ends with a usage chunk."""
        return bool(self.stream_options and self.stream_options.include_usage)


class ChatCompletionRequest(SamplingFields):
    """``POST /v1/chat/completions``."""

    messages: Annotated[list[ChatMessageIn], Field(min_length=1)]
    response_format: ResponseFormatIn | None = None
    tools: Annotated[list[ToolDef], Field(max_length=128)] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool = True
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=MAX_LOGPROBS)] | None = None

    def probabilities(self) -> tuple[bool, int]:
        """``logprobs`` / ``top_logprobs``."""
        return bool(self.logprobs), self.top_logprobs or 0

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
                chat = message.model_dump(exclude_none=True, exclude={"content"})
                messages.append(
                    Message.from_chat({**chat, "role": role, "content": message.text()})
                )
        if not messages:
            raise ValueError("messages: at least one user message is needed")
        wanted = self.response_format.value() if self.response_format else None
        prompt = "\n\n".join(system)
        return ChatRequest(
            tuple(messages), prompt, sampling, response_format=wanted,
            tools=tuple(ToolSpec.from_openai(t.model_dump()) for t in self.tools or ()),
            tool_choice=self.choice(), parallel_tool_calls=self.parallel_tool_calls,
            conversation_key=conversation_key(prompt, messages),
        )  # fmt: skip

    def choice(self) -> ToolChoice:
        """``tool_choice`` as the engine takes it (``auto`` when not given)."""
        if isinstance(self.tool_choice, NamedToolChoice):
            return ToolChoice("named", self.tool_choice.function.name)
        return ToolChoice(self.tool_choice or "auto")


def conversation_key(system_prompt: str, messages: Sequence[Message]) -> str:
    """The key of the conversation a request continues: its system prompt and its first
    message, hashed, the same at every turn. Two chats that open with the same words share
    it, and then keep one state between them, as every chat did before. The engine compares
    tokens before it reuses anything, so a shared key costs speed, never a wrong reply.
    The state is kept in RAM only (``RAM_ONLY_KEY``): a batch of one-off prompts, each its
    own conversation, must not fill the disk cache and push out the window's chats."""
    first = f"{messages[0].role}\x00{messages[0].text}" if messages else ""
    opening = f"{system_prompt}\x00{first}".encode("utf-8", "surrogatepass")
    return f"{RAM_ONLY_KEY}api-{hashlib.sha256(opening).hexdigest()[:32]}"


class CompletionRequest(SamplingFields):
    """``POST /v1/completions`` (one prompt). ``logprobs`` is the legacy API's number of
    alternatives per token (0: the chosen tokens' alone), answered in its own form
    (``LegacyLogprobs``)."""

    prompt: Text | Annotated[list[Text], Field(min_length=1, max_length=1)]
    logprobs: Annotated[int, Field(ge=0, le=MAX_LOGPROBS)] | None = None

    @field_validator("prompt", mode="before")
    @classmethod
    def _one_text_prompt(cls, prompt: Any) -> Any:
        """Refuse several prompts, or token ids, in words (before the union's type errors)."""
        if isinstance(prompt, list) and any(not isinstance(p, str) for p in prompt):
            raise ValueError("token ids as a prompt are not supported: send the prompt as text")
        if isinstance(prompt, list) and len(prompt) > 1:
            raise ValueError("a list of prompts is not supported: send one prompt per request")
        return prompt

    def probabilities(self) -> tuple[bool, int]:
        """``logprobs``: given at all, and its number."""
        return self.logprobs is not None, self.logprobs or 0

    def prompt_text(self) -> str:
        """The one prompt."""
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]
