"""Reading the calls in one call block, once the scanner (``streaming``) has cut it out.

Each reader gets the block's body (the text between its opening marker and its end) and
returns the calls in it. A body that cannot be read gives one call with ``error`` set
(``malformed``), so the model is told and its valid neighbours still run. The families'
shapes, as the model writes them:

- Hermes / Qwen: ``{"name": ..., "arguments": {...}}``, or Qwen3-Coder's
  ``<function=NAME><parameter=P>value</parameter></function>`` (a closing ``</parameter>``
  may be missing); ``<function=NAME>{json}</function>`` and ``<function name="NAME">``.
- Llama 3.x after ``<|python_tag|>``: JSON, a built-in ``brave_search.call(query="...")``,
  or plain code (a ``python`` call).
- Mistral after ``[TOOL_CALLS]``: a JSON list (pre-v11), ``NAME{json}``, ``NAME[ARGS]{json}``
  or ``NAME[CALL_ID]ID[ARGS]{json}``.
- DeepSeek: ``function<tool_sep>NAME`` then fenced JSON, then ``<tool_call_end>`` (R1, V3), or
  ``NAME<tool_sep>{...}`` (V3.1); its tokens spell the bars as U+FF5C, underscores as U+2581.
- Everything else (Phi-4, Granite, Command R, harmony) is JSON: ``read_json_calls``.
"""

from __future__ import annotations

import ast
import json
import re

from chatdesk.tools.calls import (
    ToolCall,
    call_with_arguments,
    calls_from_json_text,
    malformed,
)


def deepseek_token(name: str) -> str:
    """DeepSeek's spelling of ``<|name|>``: fullwidth bars, U+2581 for underscores."""
    return "<\uff5c" + name.replace("_", "\u2581") + "\uff5c>"


DS_CALLS_BEGIN, DS_CALLS_END = deepseek_token("tool_calls_begin"), deepseek_token("tool_calls_end")
DS_CALL_BEGIN, DS_CALL_END = deepseek_token("tool_call_begin"), deepseek_token("tool_call_end")
DS_SEP, DS_CALLS = deepseek_token("tool_sep"), deepseek_token("tool_calls")
DS_END_OF_SENTENCE = deepseek_token("end_of_sentence")


def read_json_calls(body: str) -> list[ToolCall]:
    """JSON objects or lists of them, optionally in a ```json fence."""
    text = _FENCED.sub(lambda m: m[1], body.strip(), count=1) if "```" in body else body
    calls, _rest = calls_from_json_text(text.strip())
    return calls or [malformed("the tool call holds no call", text=body)]


_FENCED = re.compile(r"```(?:json)?\s*(.*?)\s*(?:```|$)", re.S)
_QWEN_FUNCTION = re.compile(r"<function=([^>\s]+)>(.*?)(?:</function>|$)", re.S)
_QWEN_PARAMETER = re.compile(
    r"<parameter=([^>\s]+)>\n?(.*?)\n?(?=</parameter>|<parameter=|</function>|$)", re.S
)


def _parameter_value(text: str) -> object:
    """Qwen3-Coder writes parameter values raw: JSON when they parse as JSON, else text."""
    try:
        return json.loads(text.strip())
    except ValueError:
        return text


def read_hermes(body: str) -> list[ToolCall]:
    """One ``<tool_call>`` body: JSON, or Qwen3-Coder's XML function."""
    function = _QWEN_FUNCTION.search(body)
    if function and not body.lstrip().startswith(("{", "[")):
        return [_qwen_call(function[1], function[2])]
    return read_json_calls(body)


def _qwen_call(name: str, inner: str) -> ToolCall:
    if inner.strip().startswith("{"):
        return call_with_arguments(name, inner)
    params = {k: _parameter_value(v) for k, v in _QWEN_PARAMETER.findall(inner)}
    return ToolCall(name, params)


_FUNCTION_TAG = re.compile(r'([^">\s]+)"?>(.*?)$', re.S)


def read_function_tag(body: str) -> list[ToolCall]:
    """The body after ``<function=`` or ``<function name="``: ``NAME>`` then JSON or XML."""
    found = _FUNCTION_TAG.match(body.strip())
    if not found:
        return [malformed("could not read the <function> tag", text=body)]
    return [_qwen_call(found[1], found[2].replace("</function>", ""))]


_BUILTIN_CALL = re.compile(r"^\s*([A-Za-z_]\w*)\.call\((.*)\)\s*$", re.S)


def read_python_tag(body: str) -> list[ToolCall]:
    """After ``<|python_tag|>``: JSON, a built-in tool's ``.call(...)``, or code to run."""
    if body.lstrip().startswith(("{", "[")):
        return read_json_calls(body)
    builtin = _BUILTIN_CALL.match(body)
    if builtin:
        return [_builtin_call(builtin[1], builtin[2])]
    return [ToolCall("python", {"code": body.strip()})]


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


MISTRAL_HEAD = re.compile(r"\s*([\w.-]*)(?:\[CALL_ID\]([\w-]*))?(?:\[ARGS\])?\s*")


def read_mistral(body: str) -> list[ToolCall]:
    """After ``[TOOL_CALLS]``: a JSON list, or a name (and call id) before JSON arguments."""
    if body.lstrip().startswith(("[", "{")):
        return read_json_calls(body)
    head = MISTRAL_HEAD.match(body)
    if head is None or not head[1]:
        return [malformed("the [TOOL_CALLS] section holds no call", text=body)]
    rest = body[head.end() :]
    return [call_with_arguments(head[1], rest or "{}", head[2] or None)]


def read_deepseek(body: str) -> list[ToolCall]:
    """DeepSeek's calls: each ``[function]<sep>NAME ...`` piece between call markers."""
    calls = []
    for piece in body.split(DS_CALL_BEGIN):
        call = piece.split(DS_CALL_END)[0]
        if DS_SEP in call:
            calls.append(_deepseek_call(*call.split(DS_SEP, 1)))
    return calls or [malformed("could not read the DeepSeek tool call", text=body)]


def _deepseek_call(kind: str, body: str) -> ToolCall:
    if kind.strip() != "function":  # V3.1: NAME<sep>{json}
        return call_with_arguments(kind.strip(), body)
    name, _newline, rest = body.partition("\n")  # R1 / V3: NAME, then fenced JSON
    fenced = _FENCED.search(rest)
    return call_with_arguments(name.strip(), fenced[1] if fenced else rest)
