"""Chat templates: render a conversation into a model's prompt exactly as transformers does.

A GGUF model carries its prompt format as a Jinja template (``tokenizer.chat_template``).
``render_chat`` renders one the way Hugging Face transformers' ``apply_chat_template``
does: a sandboxed, immutable Jinja environment with trim_blocks, lstrip_blocks, the
loopcontrols extension, the ``{% generation %}`` tag, ``raise_exception``,
``strftime_now``, a restricted ``dict`` and ``namespace``, and a ``tojson`` filter that
leaves non-ASCII and HTML characters alone. The variables are ``messages``,
``add_generation_prompt``, ``bos_token``, ``eos_token``, ``tools`` and ``documents``
(None unless given) and anything in ``extra``.

Templates come from downloaded files, so they are untrusted: the sandbox refuses
internals (attributes starting with "_", mutating methods), and every render is bounded
in time and memory whatever the template (``template_limits``: a deadline and Stop checked
in every loop, call and operator, sizes checked before anything is allocated); any failure
becomes a ``TemplateError``.
``resolve_template`` picks what a model uses: a per-model override (a built-in name
or template text), else the model's own template, else the ChatML built-in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, overload

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.parser
import jinja2.utils
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from chatdesk.engine.builtin_templates import BUILTIN_TEMPLATES, DEFAULT_TEMPLATE, guess_builtin
from chatdesk.engine.template_limits import (
    GUARD_GLOBALS,
    TemplateError,
    TemplateStopped,
    check_binop,
    check_call,
    check_deadline,
    guarded_filter,
    render_scope,
    rewrite_template,
)

MAX_OUTPUT_CHARS = 16 * 1024 * 1024  # far above any prompt a context window holds
MAX_RENDER_SECONDS = 5.0
MODEL_TEMPLATE = "model"  # resolve_template's name for the model's own template
CUSTOM_TEMPLATE = "custom"
REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")
__all__ = ["TemplateError", "TemplateStopped", "render_scope"]  # re-exported


class _GuardedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus the time and size checks of ``template_limits`` on every
    call, attribute and item access and operator, and the guards rewritten into every parsed
    template (loops, ``~`` and output)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        check_deadline()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        check_deadline()
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None

        def checked(*args: Any, **kwargs: Any) -> str:
            check_call(value, args, kwargs)  # the sandbox's format, after the size check
            return wrapper(*args, **kwargs)

        return checked

    def _parse(self, source: str, name: str | None, filename: str | None) -> jinja2.nodes.Template:
        return rewrite_template(super()._parse(source, name, filename), self)


class _GenerationTag(jinja2.ext.Extension):
    """``{% generation %}...{% endgeneration %}`` marks assistant text; it renders its body."""

    tags = {"generation"}  # noqa: RUF012 - Jinja's own class attribute

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        call = self.call_method("_render_body")
        return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render_body(self, caller: Callable[[], str]) -> str:
        return caller()


class _TemplateNamespace(jinja2.utils.Namespace):
    """``namespace()`` that refuses underscore names (no reaching for internals)."""

    def __init__(*args: Any, **kwargs: Any) -> None:  # Jinja's own signature trick
        self, rest = args[0], args[1:]
        attrs = dict(*rest, **kwargs)
        for name in attrs:
            _TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name: str, value: Any) -> None:
        _TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check_name(name: object) -> None:
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(f"namespace attribute {name!r} is not allowed")


class _ClockedRange(Sequence[int]):
    """``range()`` for templates: Jinja's size limit, plus a clock check while iterating
    (a loop that outputs nothing would otherwise never reach a guard)."""

    def __init__(self, *args: int) -> None:
        self._range = safe_range(*args)

    def __len__(self) -> int:
        return len(self._range)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        return self._range[index]

    def __iter__(self) -> Iterator[int]:
        for value in self._range:
            check_deadline()
            yield value


class _TemplateDict:
    """``dict(...)`` and ``dict.fromkeys(...)`` without exposing the dict type itself."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return dict(*args, **kwargs)

    def fromkeys(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return dict.fromkeys(*args, **kwargs)


def _raise_exception(message: str) -> None:
    raise TemplateError(f"the chat template refused this conversation: {message}")


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | str | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    """JSON as transformers' templates expect: no HTML escaping, unicode kept."""
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


@lru_cache(maxsize=1)
def _environment() -> _GuardedSandbox:
    env = _GuardedSandbox(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[_GenerationTag, jinja2.ext.loopcontrols],
    )
    env.filters["tojson"] = _tojson
    env.filters = {name: guarded_filter(name, f) for name, f in env.filters.items()}
    env.globals.pop("lipsum", None)
    env.globals.update(GUARD_GLOBALS)
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.globals["dict"] = _TemplateDict()
    env.globals["namespace"] = _TemplateNamespace
    env.globals["range"] = _ClockedRange
    return env


@lru_cache(maxsize=32)
def compile_template(template: str) -> jinja2.Template:
    """Compile (and cache) a template; syntax errors become TemplateError with the line."""
    try:
        with render_scope(MAX_RENDER_SECONDS):  # constant folding runs filters here
            return _environment().from_string(template)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(
            f"chat template syntax error on line {error.lineno}: {error.message}"
        ) from None


def plain_data(value: Any) -> Any:
    """A copy made of JSON types only (anything else becomes "<TypeName>"), so templates see
    no methods of rich objects, and never the caller's own lists and dicts."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, str):  # subclasses (enums...) lose their extra methods
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, Mapping):
        return {plain_data(key): plain_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        items = [plain_data(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    return f"<{type(value).__name__}>"


def _alias_reasoning(message: Any) -> Any:
    """A message's reasoning under every name templates read (as transformers does)."""
    if not isinstance(message, dict):
        return message
    reasoning = next((message[k] for k in REASONING_FIELDS if message.get(k) is not None), None)
    if reasoning is None:
        return message
    return {"thinking": reasoning, **message, "reasoning_content": reasoning}


def _render_guarded(template: jinja2.Template, variables: dict[str, Any]) -> str:
    pieces: list[str] = []
    size = 0
    with render_scope(MAX_RENDER_SECONDS):
        for piece in template.generate(**variables):
            size += len(piece)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateError(f"the rendered prompt exceeds {MAX_OUTPUT_CHARS:,} characters")
            pieces.append(piece)
            check_deadline()
    return "".join(pieces)


def render_chat(
    template: str,
    messages: list[dict[str, Any]],
    *,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Render ``messages`` (dicts with "role" and "content") into the prompt text."""
    for message in messages:
        if not isinstance(message, Mapping):
            raise TemplateError(f"chat messages must be dicts, got {type(message).__name__}")
    variables: dict[str, Any] = {
        "bos_token": bos_token,
        "eos_token": eos_token,
        "tools": None,
        "documents": None,
        **plain_data(dict(extra or {})),
        "messages": [_alias_reasoning(m) for m in plain_data(list(messages))],
        "add_generation_prompt": add_generation_prompt,
    }
    compiled = compile_template(template)
    try:
        return _render_guarded(compiled, variables)
    except TemplateError:
        raise
    except jinja2.TemplateError as error:
        raise TemplateError(f"the chat template failed: {error}") from None
    except Exception as error:
        raise TemplateError(f"the chat template failed: {type(error).__name__}: {error}") from None


def render_prompt(
    template: str,
    system_prompt: str,
    messages: list[dict[str, Any]],
    *,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The full prompt: system prompt (when not empty) then ``messages``.

    Some templates refuse a system message (Gemma 2, early Mistral); for them the system
    prompt is put before the first user message instead, as other chat apps do.
    """
    options = _options(add_generation_prompt, bos_token, eos_token, extra)
    return _with_system(
        lambda chat: render_chat(template, chat, **options), system_prompt, messages
    )


def render_prompt_pieces(
    template: str,
    system_prompt: str,
    messages: list[dict[str, Any]],
    *,
    control_tokens: Iterable[str],
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    extra: Mapping[str, Any] | None = None,
) -> list[PromptPiece]:
    """``render_prompt`` split into pieces as ``render_chat_pieces`` does (what the engine
    tokenizes: literal pieces as plain text, the rest with special tokens parsed)."""
    options = _options(add_generation_prompt, bos_token, eos_token, extra)
    tokens = list(control_tokens)
    return _with_system(
        lambda chat: render_chat_pieces(template, chat, control_tokens=tokens, **options),
        system_prompt,
        messages,
    )


def _options(
    add_generation_prompt: bool, bos_token: str, eos_token: str, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "add_generation_prompt": add_generation_prompt,
        "bos_token": bos_token,
        "eos_token": eos_token,
        "extra": extra,
    }


def _with_system[T](
    render: Callable[[list[dict[str, Any]]], T],
    system_prompt: str,
    messages: list[dict[str, Any]],
) -> T:
    """Render with the system prompt as a system message, or folded into the first user
    message when the template refuses system messages."""
    if not system_prompt:
        return render(messages)
    try:
        return render([{"role": "system", "content": system_prompt}, *messages])
    except TemplateError as refused:
        folded = _fold_system_into_first_user(system_prompt, messages)
        if folded is None:
            raise
        try:
            return render(folded)
        except TemplateError:
            raise refused from None


def _fold_system_into_first_user(
    system_prompt: str, messages: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    for index, message in enumerate(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            merged = {**message, "content": f"{system_prompt}\n\n{message['content']}"}
            return [*messages[:index], merged, *messages[index + 1 :]]
    return None


@dataclass(frozen=True)
class PromptPiece:
    """A stretch of rendered prompt. ``literal``: text the user (or a tool) wrote that spells
    a control token; tokenize it as plain text, everything else with special tokens parsed."""

    text: str
    literal: bool = False


# Unicode noncharacters: never in real text, so they can bracket user-written control tokens.
_LITERAL_OPEN, _LITERAL_CLOSE = "\ufdd0", "\ufdd1"
_MARKED = re.compile(f"{_LITERAL_OPEN}([^{_LITERAL_OPEN}{_LITERAL_CLOSE}]*){_LITERAL_CLOSE}")


def _mark_literals(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """Bracket every control-token spelling inside the strings of ``value`` (a copy), after
    removing marker characters the strings already had."""
    if isinstance(value, str):
        clean = value.replace(_LITERAL_OPEN, "").replace(_LITERAL_CLOSE, "")
        if pattern is None:
            return clean
        return pattern.sub(lambda m: _LITERAL_OPEN + m.group(0) + _LITERAL_CLOSE, clean)
    if isinstance(value, dict):
        return {key: _mark_literals(item, pattern) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mark_literals(item, pattern) for item in value)
    return value


def _split_marked(text: str) -> list[PromptPiece]:
    pieces: list[PromptPiece] = []
    position = 0
    for match in _MARKED.finditer(text):
        pieces.append(PromptPiece(text[position : match.start()]))
        pieces.append(PromptPiece(match.group(1), literal=True))
        position = match.end()
    pieces.append(PromptPiece(text[position:]))
    stray = str.maketrans("", "", _LITERAL_OPEN + _LITERAL_CLOSE)  # a template cut a marker
    return [PromptPiece(p.text.translate(stray), p.literal) for p in pieces if p.text]


def render_chat_pieces(
    template: str,
    messages: list[dict[str, Any]],
    *,
    control_tokens: Iterable[str],
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    extra: Mapping[str, Any] | None = None,
) -> list[PromptPiece]:
    """``render_chat``, split so that control tokens spelled out in the messages (a user
    pasting "<|im_end|>") cannot act as control tokens: those spans come back as literal
    pieces. The pieces' texts joined equal ``render_chat``'s output."""
    spellings = sorted({t for t in control_tokens if t}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(t) for t in spellings)) if spellings else None
    messages = _mark_literals(plain_data(list(messages)), pattern)
    extra = _mark_literals(plain_data(dict(extra or {})), pattern)
    text = render_chat(
        template,
        messages,
        add_generation_prompt=add_generation_prompt,
        bos_token=bos_token,
        eos_token=eos_token,
        extra=extra,
    )
    return _split_marked(text)


def builtin_template_names() -> list[str]:
    """Names accepted by ``resolve_template`` as overrides ("chatml" first)."""
    return [DEFAULT_TEMPLATE, *sorted(n for n in BUILTIN_TEMPLATES if n != DEFAULT_TEMPLATE)]


def _looks_like_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def resolve_template(
    metadata_template: str | None,
    override: str | None = None,
    *,
    control_tokens: Iterable[str] = (),
) -> tuple[str, str]:
    """The (name, template text) a model should use.

    ``override`` (the per-model setting) is a built-in name, ``"model"`` (the model's own
    template), or template text; empty means no override. Without an override the model's
    own template wins; a model without one gets the built-in its ``control_tokens`` point
    to (Llama 3, Gemma, ChatML, Phi-3, Mistral), else ChatML.
    """
    choice = (override or "").strip()
    if choice and choice != MODEL_TEMPLATE:
        if choice in BUILTIN_TEMPLATES:
            return choice, BUILTIN_TEMPLATES[choice]
        if not _looks_like_template(override or ""):
            names = ", ".join(builtin_template_names())
            raise TemplateError(f"unknown chat template '{choice}' (built-in: {names})")
        compile_template(override or "")
        return CUSTOM_TEMPLATE, override or ""
    if metadata_template and metadata_template.strip():
        return MODEL_TEMPLATE, metadata_template
    name = guess_builtin(frozenset(control_tokens))
    return name, BUILTIN_TEMPLATES[name]
