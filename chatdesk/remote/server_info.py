"""What a remote server tells about itself: models, context length, tokenizer, dialect.

OpenAI-compatible servers agree on ``GET /v1/models`` and chat completions, and differ in
everything else, so each fact is looked up where the known servers report it and is
``None`` (unknown) otherwise, never guessed silently:

- context length: vLLM's ``max_model_len`` in the model list, llama-server's
  ``meta.n_ctx_train`` there or ``default_generation_settings.n_ctx`` from ``/props``,
  LM Studio's ``max_context_length``, a plain ``context_length``;
- token counts: ``POST /tokenize`` (vLLM, llama-server) or llama-cpp-python's
  ``/extras/tokenize/count``; without one (Ollama, LM Studio), ``estimate_tokens`` (each
  kind of character at its own rate), always labelled an estimate, and scaled once a
  reply's ``usage`` shows how many the server counted for what was sent
  (``learn_density``: a small English vocabulary takes up to 3 times the estimate for
  Russian or Chinese);
- dialect (which sampling parameters beyond OpenAI's the server takes): from ``owned_by``
  in the model list (``vllm``, ``llamacpp``, llama-cpp-python's ``me``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatdesk.engine.token_estimate import estimate_tokens
from chatdesk.engine.types import EngineError
from chatdesk.remote.connection import Connection
from chatdesk.remote.errors import RemoteErrorCode

LEAST_SCALE = 0.25  # of the estimate: a token of 18 letters
MOST_SCALE = 4.5  # a token per letter, or per byte of other scripts
LEARN_FROM = 32  # tokens: a shorter prompt is mostly the template's, and tells little
TOKENS_PER_MESSAGE = 4

# Parameters every OpenAI-compatible server takes, by ChatDesk setting name.
STANDARD_PARAMETERS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "seed": "seed",
    "max_tokens": "max_tokens",
    "stop": "stop",
}
# Extra parameters per dialect: ChatDesk setting -> the server's request field.
DIALECT_PARAMETERS: dict[str, dict[str, str]] = {
    "llama-server": {
        "top_k": "top_k",
        "min_p": "min_p",
        "repeat_penalty": "repeat_penalty",
        "repeat_last_n": "repeat_last_n",
        "ignore_eos": "ignore_eos",
    },
    "llama-cpp-python": {"top_k": "top_k", "min_p": "min_p", "repeat_penalty": "repeat_penalty"},
    "vllm": {
        "top_k": "top_k",
        "min_p": "min_p",
        "repeat_penalty": "repetition_penalty",
        "ignore_eos": "ignore_eos",
    },
    "chatdesk": {  # ChatDesk's own API server (``chatdesk serve``, the window's switch)
        "top_k": "top_k",
        "min_p": "min_p",
        "repeat_penalty": "repeat_penalty",
        "ignore_eos": "ignore_eos",
    },
    "openai-compatible": {},
}
OWNERS = {
    "vllm": "vllm",
    "llamacpp": "llama-server",
    "me": "llama-cpp-python",
    "chatdesk": "chatdesk",
}


@dataclass(frozen=True)
class RemoteModel:
    """One model a server lists."""

    id: str
    owned_by: str = ""
    context_length: int | None = None


@dataclass
class ServerFacts:
    """What was learnt about a server (filled lazily, cached per engine)."""

    models: list[RemoteModel] = field(default_factory=list)
    dialect: str = "openai-compatible"
    tokenize_path: str | None = None  # the working tokenizer endpoint, "" once none found
    usage_in_stream: bool = True  # cleared when the server refuses stream_options
    scale: float = 1.0  # of the estimate, learnt from usage

    def learn_density(self, estimated: int, counted: int) -> None:
        """A reply's prompt was estimated at ``estimated`` tokens and the server's usage
        counted ``counted``: estimates from now on are scaled to match (a server without a
        tokenizer only, and a prompt long enough to tell)."""
        if self.tokenize_path != "" or estimated < LEARN_FROM or counted <= 0:
            return
        learnt = self.scale * counted / estimated
        self.scale = min(MOST_SCALE, max(LEAST_SCALE, learnt))

    def estimate(self, text: str) -> int:
        """Tokens in ``text`` by ``estimate_tokens``, at the scale learnt so far."""
        return estimate_tokens(text, self.scale)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def context_length_of(entry: dict[str, Any]) -> int | None:
    """The context length a model-list entry reports, if any."""
    for key in ("max_model_len", "context_length", "max_context_length", "context_window"):
        found = _int_or_none(entry.get(key))
        if found:
            return found
    meta = entry.get("meta")
    return _int_or_none(meta.get("n_ctx_train")) if isinstance(meta, dict) else None


def parse_models(data: Any) -> list[RemoteModel]:
    """The models of a ``GET /v1/models`` answer (entries without a string id skipped)."""
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise EngineError(
            "the server's model list is not an OpenAI-style {'data': [...]} object",
            RemoteErrorCode.MALFORMED,
        )
    return [
        RemoteModel(e["id"], str(e.get("owned_by") or ""), context_length_of(e))
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("id"), str)
    ]


def list_models(connection: Connection) -> list[RemoteModel]:
    """``GET /v1/models``."""
    return parse_models(connection.get_json("/models"))


def dialect_of(models: list[RemoteModel]) -> str:
    """Which server family the model list suggests."""
    for model in models:
        if model.owned_by in OWNERS:
            return OWNERS[model.owned_by]
    return "openai-compatible"


def props_context_length(connection: Connection) -> int | None:
    """llama-server's loaded context length from ``/props`` (None where there is none)."""
    try:
        props = connection.get_json("/props", at_root=True)
    except EngineError:
        return None
    settings = props.get("default_generation_settings") if isinstance(props, dict) else None
    return _int_or_none(settings.get("n_ctx")) if isinstance(settings, dict) else None


TOKENIZE_ENDPOINTS = (
    ("/tokenize", lambda model, text: {"model": model, "prompt": text, "content": text}),
    ("/extras/tokenize/count", lambda model, text: {"model": model, "input": text}),
)


def count_from_answer(answer: Any) -> int | None:
    """A token count from a tokenizer answer: ``count`` or the length of ``tokens``."""
    if not isinstance(answer, dict):
        return None
    if isinstance(answer.get("count"), int):
        return int(answer["count"])
    tokens = answer.get("tokens")
    return len(tokens) if isinstance(tokens, list) else None


def server_token_count(
    connection: Connection, facts: ServerFacts, model: str, text: str
) -> int | None:
    """Tokens in ``text`` by the server's own tokenizer, or None when it has none."""
    candidates = [e for e in TOKENIZE_ENDPOINTS if facts.tokenize_path in (None, e[0])]
    for path, body in candidates:
        try:
            count = count_from_answer(connection.post_json(path, body(model, text), at_root=True))
        except EngineError:
            count = None
        if count is not None:
            facts.tokenize_path = path
            return count
    facts.tokenize_path = ""
    return None
