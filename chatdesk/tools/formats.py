"""How each model family writes tool calls, learnt from llama.cpp's chat parsers.

A format is the markers that open a tool-call section, and a function that reads every call
in that section (from the opening marker to the end of the output). The formats:

- ``hermes`` (Hermes 2/3, Qwen 2.5/3, Granite 4, many fine-tunes):
  ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, several in a row; Qwen3-Coder
  writes ``<tool_call><function=NAME><parameter=P>value</parameter></function></tool_call>``.
- ``llama3`` (Llama 3.1-3.3): a bare JSON object ``{"name": ..., "parameters": {...}}`` as
  the whole reply (the generic JSON reader), or ``<|python_tag|>`` followed by JSON, a
  built-in call ``brave_search.call(query="...")``, or plain code (a ``python`` call).
- ``mistral``: ``[TOOL_CALLS][{"name": ..., "arguments": {...}, "id": ...}]`` (Nemo, Small
  3) or ``[TOOL_CALLS]NAME[ARGS]{...}`` (Magistral, Devstral, Ministral 2).
- ``phi4`` and ``granite`` (3.x): ``<|tool_call|>[{"name": ..., "arguments": ...}]``, closed
  by ``<|/tool_call|>`` in Phi-4-mini.
- ``gpt-oss`` (harmony): ``<|start|>assistant<|channel|>commentary to=functions.NAME
  <|constrain|>json<|message|>{...}<|call|>``.
- ``command-r``: R7B ``<|START_ACTION|>[{"tool_call_id": ..., "tool_name": ...,
  "parameters": {...}}]<|END_ACTION|>``; R+ ``Action: ```json [...] ``` ``.
- ``deepseek``: ``<|tool_calls_begin|><|tool_call_begin|>function<|tool_sep|>NAME
  ```json {...} ```<|tool_call_end|>...`` (R1, V3) or ``<|tool_call_begin|>NAME<|tool_sep|>
  {...}`` (V3.1); DeepSeek spells these bars as U+FF5C and the underscores as U+2581.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from chatdesk.tools.calls import (
    ToolCall,
    call_from_json,
    call_with_arguments,
    calls_from_json_text,
    malformed,
)

Reader = Callable[[str], tuple[list[ToolCall], str]]  # section -> calls, leftover text


@dataclass(frozen=True)
class CallFormat:
    """A family's call markers and the reader of a section that starts with one of them."""

    name: str
    markers: tuple[str, ...]
    read: Reader


def _strip_marker(section: str, markers: tuple[str, ...]) -> str:
    for marker in markers:
        if section.startswith(marker):
            return section[len(marker) :]
    return section


_HERMES_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)
_QWEN_FUNCTION = re.compile(r"<function=([^>\s]+)>(.*?)(?:</function>|$)", re.S)
_QWEN_PARAMETER = re.compile(r"<parameter=([^>\s]+)>\n?(.*?)\n?(?:</parameter>|$)", re.S)


def _parameter_value(text: str) -> object:
    """Qwen3-Coder writes parameter values raw: JSON when they parse as JSON, else text."""
    try:
        return json.loads(text.strip())
    except ValueError:
        return text


def _read_hermes(section: str) -> tuple[list[ToolCall], str]:
    calls: list[ToolCall] = []
    leftover = _HERMES_BLOCK.sub("", section)
    for body in _HERMES_BLOCK.findall(section):
        function = _QWEN_FUNCTION.search(body)
        if function:
            params = {k: _parameter_value(v) for k, v in _QWEN_PARAMETER.findall(function[2])}
            calls.append(ToolCall(function[1], params))
            continue
        found, _rest = calls_from_json_text(body.strip())
        calls.extend(found or [malformed("the <tool_call> block is empty")])
    return calls, leftover


_BUILTIN_CALL = re.compile(r"^\s*([A-Za-z_]\w*)\.call\((.*)\)\s*$", re.S)


def _read_python_tag(section: str) -> tuple[list[ToolCall], str]:
    body = _strip_marker(section, ("<|python_tag|>",)).replace("<|eom_id|>", "")
    if body.lstrip().startswith("{"):
        return calls_from_json_text(body.strip())
    builtin = _BUILTIN_CALL.match(body)
    if builtin:
        return [_builtin_call(builtin[1], builtin[2])], ""
    return [ToolCall("python", {"code": body.strip()})], ""


def _builtin_call(name: str, arguments: str) -> ToolCall:
    """``brave_search.call(query="...")``: keyword arguments with literal values only."""
    try:
        node = ast.parse(f"f({arguments})", mode="eval").body
        assert isinstance(node, ast.Call)
        assert not node.args
        values = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    except (SyntaxError, ValueError, AssertionError):
        return malformed(f"could not read the arguments of {name}.call(...)", name)
    return ToolCall(name, values)


_MISTRAL_NAMED = re.compile(r"\s*([\w.-]+)(?:\[CALL_ID\]([\w-]+))?\[ARGS\]")


def _read_mistral(section: str) -> tuple[list[ToolCall], str]:
    calls: list[ToolCall] = []
    pieces = [p for p in section.split("[TOOL_CALLS]") if p.strip()]
    for piece in pieces or [""]:
        named = _MISTRAL_NAMED.match(piece)
        if named:
            calls.append(call_with_arguments(named[1], piece[named.end() :], named[2]))
            continue
        found, _rest = calls_from_json_text(piece.strip())
        calls.extend(found or [malformed("the [TOOL_CALLS] section holds no call")])
    return calls, ""


def _read_tool_call_token(section: str) -> tuple[list[ToolCall], str]:
    calls: list[ToolCall] = []
    for piece in section.split("<|tool_call|>"):
        body = piece.split("<|/tool_call|>")[0].strip()
        if body:
            found, _rest = calls_from_json_text(body)
            calls.extend(found)
    return calls or [malformed("the <|tool_call|> section holds no call")], ""


_HARMONY_CALL = re.compile(
    r"to=functions\.([\w.-]+)[^<]*(?:<\|constrain\|>\s*\w*\s*)?<\|message\|>(.*?)(?:<\|call\|>|$)",
    re.S,
)


def _read_harmony(section: str) -> tuple[list[ToolCall], str]:
    calls = []
    for name, body in _HARMONY_CALL.findall(section):
        calls.append(call_with_arguments(name, body))
    return calls or [malformed("could not read the harmony tool call")], ""


def _read_command_r(section: str) -> tuple[list[ToolCall], str]:
    body = _strip_marker(section, COMMAND_R_MARKERS).split("<|END_ACTION|>")[0]
    body = body.strip().removeprefix("```json").removesuffix("```").strip("` \n")
    calls, _rest = calls_from_json_text(body)
    return calls or [malformed("the action holds no call")], ""


def deepseek_token(name: str) -> str:
    """DeepSeek's spelling of ``<|name|>``: fullwidth bars, U+2581 for underscores."""
    return "<\uff5c" + name.replace("_", "\u2581") + "\uff5c>"


DS_CALLS_BEGIN, DS_CALL_BEGIN = (
    deepseek_token("tool_calls_begin"),
    deepseek_token("tool_call_begin"),
)
DS_SEP, DS_CALL_END = deepseek_token("tool_sep"), deepseek_token("tool_call_end")
_DEEPSEEK_CALL = re.compile(
    f"{re.escape(DS_CALL_BEGIN)}(.*?){re.escape(DS_SEP)}(.*?)(?:{re.escape(DS_CALL_END)}|$)", re.S
)
_FENCED_JSON = re.compile(r"```(?:json)?\s*(.*?)\s*(?:```|$)", re.S)


def _read_deepseek(section: str) -> tuple[list[ToolCall], str]:
    calls = []
    for kind, body in _DEEPSEEK_CALL.findall(section):
        name, arguments = kind, body
        if kind.strip() == "function":  # R1 / V3: NAME on the first line, then fenced JSON
            name, _newline, rest = body.partition("\n")
            fenced = _FENCED_JSON.search(rest)
            arguments = fenced[1] if fenced else rest
        calls.append(call_with_arguments(name.strip(), arguments))
    return calls or [malformed("could not read the DeepSeek tool call")], ""


def read_json_section(section: str) -> tuple[list[ToolCall], str]:
    """The generic reader: JSON objects/arrays, optionally in a ```json fence."""
    body = section.strip()
    fenced = body.startswith("```")
    if fenced:
        body = _FENCED_JSON.sub(lambda m: m[1], body, count=1)
    return calls_from_json_text(body)


COMMAND_R_MARKERS = ("<|START_ACTION|>", "Action: ```json", "Action:\n```json")
FORMATS: dict[str, CallFormat] = {
    f.name: f
    for f in (
        CallFormat("hermes", ("<tool_call>",), _read_hermes),
        CallFormat("llama3", ("<|python_tag|>",), _read_python_tag),
        CallFormat("mistral", ("[TOOL_CALLS]",), _read_mistral),
        CallFormat("phi4", ("<|tool_call|>",), _read_tool_call_token),
        CallFormat("granite", ("<|tool_call|>",), _read_tool_call_token),
        CallFormat(
            "gpt-oss",
            (
                "<|start|>assistant<|channel|>commentary to=",
                "<|channel|>commentary to=",
                " to=functions.",
            ),
            _read_harmony,
        ),
        CallFormat("command-r", COMMAND_R_MARKERS, _read_command_r),
        CallFormat("deepseek", (DS_CALLS_BEGIN, DS_CALL_BEGIN), _read_deepseek),
    )
}
# Template text that tells which family a model's own chat template belongs to.
_TEMPLATE_SIGNS = (
    ("<|channel|>", "gpt-oss"),
    (DS_CALLS_BEGIN, "deepseek"),
    ("<|START_ACTION|>", "command-r"),
    ("directly_answer", "command-r"),
    ("[TOOL_CALLS]", "mistral"),
    ("<|python_tag|>", "llama3"),
    ("<|tool_call|>", "phi4"),
    ("<tool_call>", "hermes"),
)


def detect_formats(template: str | None) -> list[str]:
    """The formats to listen for with this chat template: its family's first when the
    template names one, then every other (models do not always follow their template)."""
    text = template or ""
    first = [name for sign, name in _TEMPLATE_SIGNS if sign in text][:1]
    return first + [name for name in FORMATS if name not in first]


def call_from_parts(name: str, arguments: object) -> ToolCall:
    """A call from a name and arguments (dict or JSON string), as the OpenAI API sends them."""
    call = call_from_json({"name": name, "arguments": arguments})
    return call or malformed("a tool call needs a name", name)
