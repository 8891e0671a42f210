"""Each model family's tool-call format, as rules the reply scanner (``streaming``) applies.

A format is a list of ``Rule``s, each starting at a literal opening marker:

- ``call``: a call block. Its body ends at one of ``closers``; or, when the body starts with
  JSON (``json_body``), where that JSON ends (and a closer right after it, when one follows);
  or at the end of the reply. ``read`` turns the body into calls. A ``head`` pattern (Mistral's
  ``NAME[ARGS]``) may come before the JSON.
- ``reasoning``: thinking text up to a closer (``<think>...</think>``); never shown as the
  reply and never searched for calls.
- ``markup``: a format token that is dropped (``<|START_RESPONSE|>``, ``<|end|>``).
- ``harmony``: a gpt-oss message header (``<|start|>assistant<|channel|>... to=functions.X
  <|constrain|>json<|message|>``): a call when it names a recipient, reasoning on the
  analysis channel, else just dropped (the final answer then reads as text).

``json_watch`` adds bare JSON calls anywhere in the reply (Llama 3.x, Hermes and the generic
format). ``detect_format`` reads the family from the chat template's own markers, as
llama.cpp's chat module does; a template with none gets ``ALL`` (every rule, with JSON).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chatdesk.tools.calls import ToolCall
from chatdesk.tools.readers import (
    DS_CALL_BEGIN,
    DS_CALL_END,
    DS_CALLS,
    DS_CALLS_BEGIN,
    DS_CALLS_END,
    DS_END_OF_SENTENCE,
    MISTRAL_HEAD,
    read_deepseek,
    read_function_tag,
    read_hermes,
    read_json_calls,
    read_mistral,
    read_python_tag,
)

Reader = Callable[[str], list[ToolCall]]


@dataclass(frozen=True)
class Rule:
    """One opening marker and what follows it (see the module docstring)."""

    opener: str
    kind: str  # "call" | "reasoning" | "markup" | "harmony"
    closers: tuple[str, ...] = ()
    read: Reader | None = None
    json_body: bool = False
    head: re.Pattern[str] | None = None
    must_start: str = ""  # the body must start with one of these, else the opener is text
    literal: bool = False  # the opener is an ordinary word ("functools"): kept when no call
    guarded: bool = False  # markup only in its family's place (see ``all_formats``)


@dataclass(frozen=True)
class Format:
    """A family's rules, and whether bare JSON calls are read too."""

    name: str
    rules: tuple[Rule, ...]
    json_watch: bool = False
    label: str = ""


def _call(opener: str, closers: tuple[str, ...], read: Reader, **options: object) -> Rule:
    return Rule(opener, "call", closers, read, **options)  # type: ignore[arg-type]


THINK = Rule("<think>", "reasoning", ("</think>",))
HERMES_CALL = _call("<tool_call>", ("</tool_call>",), read_hermes, json_body=True)
TOOL_CALL_TOKEN = _call("<|tool_call|>", ("<|/tool_call|>",), read_json_calls, json_body=True)
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "hermes",
            (
                THINK,
                HERMES_CALL,
                _call("<function=", ("</function>",), read_function_tag),
                _call('<function name="', ("</function>",), read_function_tag),
            ),
            json_watch=True,
            label="Hermes / Qwen <tool_call>",
        ),
        Format(
            "llama3",
            (
                _call(
                    "<|python_tag|>", ("<|eom_id|>", "<|eot_id|>"), read_python_tag, json_body=True
                ),
                Rule("<|eom_id|>", "markup"),
                Rule("<|eot_id|>", "markup"),
            ),
            json_watch=True,
            label="Llama 3.x JSON / <|python_tag|>",
        ),
        Format(
            "mistral",
            (
                _call("[TOOL_CALLS]", (), read_mistral, json_body=True, head=MISTRAL_HEAD),
                Rule("[THINK]", "reasoning", ("[/THINK]",)),
            ),
            label="Mistral [TOOL_CALLS]",
        ),
        Format(
            "phi4",
            (
                THINK,
                TOOL_CALL_TOKEN,
                _call(
                    "functools", (), read_json_calls, json_body=True, must_start="[", literal=True
                ),
            ),
            label="Phi-4 mini functools[...]",
        ),
        Format(
            "granite",
            (
                THINK,
                TOOL_CALL_TOKEN,
                HERMES_CALL,
                Rule("<response>", "markup"),
                Rule("</response>", "markup"),
            ),
            label="Granite <|tool_call|>",
        ),
        Format(
            "gpt-oss",
            (
                Rule("<|start|>", "harmony"),
                Rule("<|channel|>", "harmony"),
                Rule("to=functions.", "harmony"),
                Rule("<|end|>", "markup"),
                Rule("<|return|>", "markup"),
                Rule("<|call|>", "markup"),
            ),
            label="gpt-oss harmony channels",
        ),
        Format(
            "command-r",
            (
                Rule("<|START_THINKING|>", "reasoning", ("<|END_THINKING|>",)),
                Rule("<|START_RESPONSE|>", "markup"),
                Rule("<|END_RESPONSE|>", "markup"),
                _call("<|START_ACTION|>", ("<|END_ACTION|>",), read_json_calls, json_body=True),
                _call("Action: ```json", ("```",), read_json_calls, json_body=True, literal=True),
            ),
            label="Command R actions",
        ),
        Format(
            "deepseek",
            (
                THINK,
                _call(DS_CALLS_BEGIN, (DS_CALLS_END,), read_deepseek),
                _call(DS_CALLS, (DS_CALLS_END,), read_deepseek),
                _call(DS_CALL_BEGIN, (DS_CALL_END,), read_deepseek),
                Rule(DS_END_OF_SENTENCE, "markup"),
            ),
            label="DeepSeek tool-call tokens",
        ),
        Format("generic", (THINK,), json_watch=True, label="generic JSON"),
    )
}
# Markup that is ordinary text for a model outside its family, unless it sits where that
# family writes it: Granite's "<response>" right after the reasoning, before any visible
# text, and the "</response>" that closes it.
_FAMILY_ONLY = {"<response>", "</response>"}


def all_formats() -> Format:
    """Every family's rules at once: for a template that names no family (``_FAMILY_ONLY``
    markup guarded: dropped only in its family's place, else kept as text)."""
    rules: dict[str, Rule] = {}
    for fmt in FORMATS.values():
        for rule in fmt.rules:
            guarded = rule.opener in _FAMILY_ONLY
            rules.setdefault(
                rule.opener, Rule(rule.opener, rule.kind, guarded=True) if guarded else rule
            )
    return Format("all", tuple(rules.values()), json_watch=True, label="any format (watching all)")


def reasoning_only(fmt: Format) -> Format:
    """``fmt`` without its call rules: for a reply offered no tools (reasoning still apart)."""
    kept = tuple(r for r in fmt.rules if r.kind != "call")
    return Format(fmt.name, kept, json_watch=False, label=fmt.label)


def thinking_opened_by(template: str | None) -> bool:
    """True when the template's generation prompt opens a thinking block itself (QwQ,
    DeepSeek R1 write ``<think>`` there): the reply then starts inside it."""
    text = template or ""
    at = text.rfind("add_generation_prompt")
    literals = re.findall(r"'([^']*)'|\"([^\"]*)\"", text[at : at + 400]) if at >= 0 else []
    return any("<think>" in a + b and "</think>" not in a + b for a, b in literals)


# Template text that tells which family a model's own chat template belongs to (first wins).
_TEMPLATE_SIGNS = (
    ("<|channel|>", "gpt-oss"),
    (DS_CALLS_BEGIN, "deepseek"),
    ("<|START_ACTION|>", "command-r"),
    ("directly_answer", "command-r"),
    ("Action:\\n```json", "command-r"),
    ("[TOOL_CALLS]", "mistral"),
    ("functools", "phi4"),
    ("<|tool_call|>", "granite"),
    ("<|python_tag|>", "llama3"),
    ('"parameters": dictionary of argument', "llama3"),
    ("<tool_call>", "hermes"),
)


def detect_format(template: str | None) -> str | None:
    """The family whose markers the chat template writes; None when it names none."""
    text = template or ""
    return next((name for sign, name in _TEMPLATE_SIGNS if sign in text), None)


GENERIC, ANY = "generic", "any"


def tool_format_for(template: str | None, takes_tools: bool) -> str:
    """How a model with this chat template writes tool calls: its family's name; ``generic``
    when the template does not take tools (the engine then writes them into the system
    prompt in the Hermes form, ``chatdesk.engine.tool_prompt``); ``any`` when it takes tools
    in a shape no family rule knows (every format is then watched)."""
    if not takes_tools:
        return GENERIC
    return detect_format(template) or ANY


def reply_format(tool_format: str, choice: str = "auto") -> Format:
    """The rules a reply is read with: the model's family's; the Hermes rules (with bare
    JSON) for the generic prompt and for a reply held to a call by a grammar (``required``,
    a named tool: the call is bare JSON); every format when the family is not known."""
    if tool_format == GENERIC or choice in ("required", "named"):
        return FORMATS["hermes"]
    return format_for(tool_format or None)


def describe_tool_format(name: str) -> str:
    """A few words for the model's details: which way the model uses tools."""
    if name == GENERIC:
        return "tools in the system prompt (generic: <tool_call>, held by a grammar)"
    if name in FORMATS:
        return f"native tools ({FORMATS[name].label})"
    return "native tools (format not recognised: all watched)" if name else ""


def format_for(name: str | None) -> Format:
    """The rules for a family name (from ``detect_format``); all of them for None/unknown."""
    return FORMATS[name] if name in FORMATS else all_formats()


def detect_formats(template: str | None) -> list[str]:
    """The detected family first, then every other (kept for callers that list them)."""
    first = detect_format(template)
    return ([first] if first else []) + [n for n in FORMATS if n != first]
