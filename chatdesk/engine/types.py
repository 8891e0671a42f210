"""Plain data passed between the app, the engine client and the engine host.

Everything here is a small dataclass that round-trips through JSON (``to_dict`` /
``from_dict``), so the same types describe both sides of the pipe. Nothing here imports
llama.cpp or Qt.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

FinishReason = Literal["stop", "length", "cancelled", "error"]
MAX_LOGPROBS = 20  # most alternatives reported per generated token


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that name a field of dataclass ``cls`` (newer peers may add more)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in data.items() if key in names}


class _JSONData:
    """Mixin: dataclass <-> JSON-ready dict."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from ``to_dict`` output, ignoring unknown keys."""
        return cls(**_known_fields(cls, data))


@dataclass(frozen=True)
class LoadOptions(_JSONData):
    """How to load a model. ``None`` means "let the engine choose"."""

    path: str | Path
    n_ctx: int | None = None  # default: trained length capped at 8192 and by free memory
    n_gpu_layers: int | None = None  # default: all layers with a GPU backend, else 0; -1 = all
    n_threads: int | None = None  # default: one per physical core (engine/threads.py)
    n_batch: int | None = None  # prompt-processing batch size, default 512
    n_ubatch: int | None = None  # micro-batch (one graph run) within it, default = n_batch
    flash_attn: bool | None = None  # default: llama.cpp decides (on where supported)
    chat_template: str | None = None  # override: a built-in template name or Jinja text
    state_cache_mb: int | None = None  # RAM for saved conversation KV states, default 1024
    state_disk_mb: int | None = None  # disk for them (0: none kept on disk), default 4096
    speculation: str | None = None  # "auto" (default: where it pays), "always" (where exact), "off"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the path as a string)."""
        data = dataclasses.asdict(self)
        data["path"] = str(self.path)
        return data


@dataclass(frozen=True)
class ModelInfo(_JSONData):
    """What a successful load reports."""

    path: str
    name: str
    architecture: str
    parameter_count: int
    quantization: str
    file_size: int
    trained_context: int
    n_ctx: int
    n_layers: int
    chat_template_present: bool
    template_name: str
    backend: str  # "CPU", "CUDA", "Metal", "Vulkan", ...
    gpu_layers_offloaded: int
    n_threads: int
    n_batch: int
    flash_attn: bool
    load_seconds: float
    tool_format: str = ""  # how the model writes tool calls (tools.formats.tool_format_for)
    thinking_open: bool = False  # the template's generation prompt opens <think>
    # the authors' recommended sampling from the GGUF header (general.sampling.*), if any
    recommended_sampling: dict[str, float | int] = field(default_factory=dict)
    kv_bytes_per_token: int = 0  # KV-cache memory per token of context (0: unknown)


@dataclass(frozen=True)
class SamplingSettings(_JSONData):
    """Sampling for one reply. ``seed=None`` picks a fresh random seed each time."""

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0  # llama.cpp's default: no penalty (1.1 bent short answers)
    repeat_last_n: int = 64
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None
    max_tokens: int | None = 1024  # None: until the context is full
    stop: tuple[str, ...] = ()
    ignore_eos: bool = False  # suppress end-of-generation tokens (benchmarks)
    logprobs: int = 0  # 0: off; 1..MAX_LOGPROBS: report probabilities with that many alternatives
    speculative: bool = True  # draft tokens from the prompt and reply where that pays (same output)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplingSettings:
        """Rebuild from a dict (JSON turns the stop tuple into a list)."""
        known = _known_fields(cls, data)
        if "stop" in known:
            known["stop"] = tuple(known["stop"] or ())
        return cls(**known)


@dataclass(frozen=True)
class ReplyStats(_JSONData):
    """Figures for one finished (or cancelled or failed) reply."""

    finish_reason: FinishReason
    prompt_tokens: int = 0  # tokens in the prompt the model saw
    evaluated_prompt_tokens: int = 0  # of those, how many had to be evaluated (not cached)
    generated_tokens: int = 0
    time_to_first_token: float | None = None  # seconds from request to first token
    prompt_seconds: float = 0.0
    decode_seconds: float = 0.0
    decode_tokens_per_second: float = 0.0
    prompt_tokens_per_second: float = 0.0
    dropped_messages: int = 0
    kv_source: str = "none"  # where the reused prefix came from: "context", "saved", "none"
    seed: int | None = None
    n_ctx: int = 0
    drafted_tokens: int = 0  # speculative decoding: tokens drafted from the prompt and reply
    accepted_tokens: int = 0  # of those, how many the model confirmed (kept in the reply)


class EngineError(Exception):
    """A failure reported by the engine; ``code`` says which kind (see ``ErrorCode``)."""

    def __init__(self, message: str, code: str = "engine_error") -> None:
        super().__init__(message)
        self.code = code

    @property
    def message(self) -> str:
        """The human-readable message."""
        return str(self.args[0]) if self.args else ""


class EngineHostDied(EngineError):
    """The host process exited or was killed; ``log_tail`` holds its last stderr lines."""

    def __init__(self, message: str, log_tail: list[str] | None = None, summary: str = "") -> None:
        super().__init__(message, code="host_died")
        self.log_tail = list(log_tail or [])
        self.summary = summary or message.splitlines()[0]


class ErrorCode:
    """The ``code`` values of ``EngineError``."""

    INVALID_MODEL = "invalid_model"  # rejected before loading: not GGUF, truncated, ...
    LOAD_FAILED = "load_failed"  # llama.cpp could not load it
    OUT_OF_MEMORY = "out_of_memory"  # the requested context does not fit
    NO_MODEL = "no_model"  # generate/render without a loaded model
    MESSAGE_TOO_LONG = "message_too_long"  # one message alone exceeds the context
    TEMPLATE = "template_error"  # the chat template failed to render
    BAD_REQUEST = "bad_request"
    UNSUPPORTED = "unsupported"  # the engine cannot honour a field of the request
    HOST_DIED = "host_died"
    INTERNAL = "internal_error"


@dataclass(frozen=True)
class ContextFitted:
    """First event of a reply: how the conversation was fitted into the context."""

    kept: int  # messages kept (not counting the system prompt)
    dropped_count: int  # oldest messages dropped to make room
    prompt_tokens: int
    n_ctx: int


@dataclass(frozen=True)
class PromptProgress:
    """Prompt evaluation is under way: ``evaluated`` of ``total`` new prompt tokens are done,
    ``seconds`` after it started. Sent before the first chunk and after each one, only for
    prompts long enough to take a while (several batches); none for a short prompt."""

    evaluated: int
    total: int
    seconds: float

    @property
    def fraction(self) -> float:
        """Share done, 0.0 to 1.0."""
        return min(1.0, self.evaluated / self.total) if self.total else 1.0

    @property
    def seconds_left(self) -> float | None:
        """Estimated seconds until the prompt is evaluated (None before the first chunk)."""
        if self.evaluated <= 0 or self.seconds <= 0:
            return None
        return self.seconds / self.evaluated * max(0, self.total - self.evaluated)


@dataclass(frozen=True)
class TextDelta:
    """More reply text (always whole characters)."""

    text: str


@dataclass(frozen=True)
class ReplyDone:
    """The reply finished: stop, length or cancelled (the text so far is kept)."""

    stats: ReplyStats


@dataclass(frozen=True)
class ReplyFailed:
    """The reply failed; the text streamed before the failure is still valid."""

    error: EngineError
    stats: ReplyStats | None = field(default=None)


def raw_piece(piece: bytes) -> bytes | None:
    """``piece`` when it is not valid UTF-8 on its own (part of a character split over
    tokens, as byte-fallback tokens are), else None: its text then says it all."""
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return piece
    return None


@dataclass(frozen=True)
class Alternative:
    """One candidate for a token position and its probability (0..1).

    ``raw`` is the token's bytes where they are not valid UTF-8 on their own (``text`` is
    then U+FFFD); None otherwise, and in data stored before it was kept."""

    token: int
    text: str
    probability: float
    raw: bytes | None = None

    @property
    def piece(self) -> bytes:
        """The token's bytes: ``raw``, or its text's."""
        return _piece(self.text, self.raw)

    def to_wire(self) -> list[Any]:
        """``[token, text, probability]``, plus the raw bytes as hex where there are any."""
        entry: list[Any] = [self.token, self.text, self.probability]
        return entry if self.raw is None else [*entry, self.raw.hex()]

    @classmethod
    def from_wire(cls, data: list[Any]) -> Alternative:
        """Rebuild from ``to_wire`` output (the raw bytes optional)."""
        token, text, probability, *raw = data
        return cls(int(token), str(text), float(probability), _raw_from_wire(raw))


def _piece(text: str, raw: bytes | None) -> bytes:
    return text.encode("utf-8") if raw is None else raw


def _raw_from_wire(rest: list[Any]) -> bytes | None:
    return bytes.fromhex(str(rest[0])) if rest and rest[0] else None


@dataclass(frozen=True)
class TokenChoice:
    """One generated token: how likely it was, and its most likely alternatives.

    ``probability`` / ``top`` are the model's own distribution (softmax of the logits);
    ``sampled_probability`` / ``sampled_top`` are what the sampler drew from after
    penalties, top-k, top-p, min-p and temperature (greedy: all on the chosen token).
    Both ``top`` lists hold up to N alternatives, most probable first. ``raw`` is as on
    ``Alternative``: the token's bytes, only where they are not valid UTF-8 on their own.
    """

    token: int
    text: str
    probability: float
    sampled_probability: float
    top: tuple[Alternative, ...] = ()
    sampled_top: tuple[Alternative, ...] = ()
    raw: bytes | None = None

    @property
    def piece(self) -> bytes:
        """The token's bytes: ``raw``, or its text's."""
        return _piece(self.text, self.raw)

    def to_wire(self) -> list[Any]:
        """A compact JSON form (positional lists, for the pipe; the raw bytes as hex at the
        end where there are any)."""
        wire = [
            self.token,
            self.text,
            self.probability,
            self.sampled_probability,
            [a.to_wire() for a in self.top],
            [a.to_wire() for a in self.sampled_top],
        ]
        return wire if self.raw is None else [*wire, self.raw.hex()]

    @classmethod
    def from_wire(cls, data: list[Any]) -> TokenChoice:
        """Rebuild from ``to_wire`` output (the raw bytes optional)."""
        token, text, probability, sampled, top, sampled_top, *raw = data
        return cls(
            int(token),
            str(text),
            float(probability),
            float(sampled),
            tuple(Alternative.from_wire(a) for a in top),
            tuple(Alternative.from_wire(a) for a in sampled_top),
            _raw_from_wire(raw),
        )


@dataclass(frozen=True)
class TokenProbabilities:
    """Probabilities of the tokens generated since the last such event (only when the
    request's ``SamplingSettings.logprobs`` is above 0), in generation order."""

    tokens: tuple[TokenChoice, ...]


ReplyEvent = (
    ContextFitted | PromptProgress | TextDelta | TokenProbabilities | ReplyDone | ReplyFailed
)
