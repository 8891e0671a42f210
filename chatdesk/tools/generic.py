"""The shape a tool call is held to by a grammar (issue 23's ``chatdesk.engine.constrain``).

With tool choice ``required`` or a named tool, the reply must be a call: bare JSON, one call
``{"name": ..., "arguments": {...}}`` (or, when parallel calls are allowed, a list of them),
each naming an offered tool (only the named one) with arguments that follow its parameter
schema. For a model whose template has no tools (the engine writes them into the system
prompt in the Hermes form) and tool choice ``auto``, the reply is either one such call inside
``<tool_call>`` tags or a plain reply (``call_or_reply``). The replies are read by the Hermes
rules (``formats.reply_format``). ``loose`` takes any object as arguments: the fallback when
a tool's parameter schema uses keywords the grammar cannot enforce (the tool still checks
its arguments when it runs).

Pure data (no engine): the engine host compiles these schemas.
"""

from __future__ import annotations

from typing import Any

HERMES_PREFIX, HERMES_SUFFIX = "<tool_call>\n", "\n</tool_call>"
# Families whose own call syntax a grammar holds for ``required``/named (markers written as
# text, JSON ``{"name", "arguments"}`` inside); other native families get bare JSON.
NATIVE_WRAPS = {"hermes": (HERMES_PREFIX, HERMES_SUFFIX)}


def call_schema(
    tools: list[dict[str, Any]], name: str | None = None, *, loose: bool = False
) -> dict[str, Any]:
    """One call of one of ``tools`` (OpenAI ``{"type": "function", ...}`` entries), or of
    the tool ``name`` only."""
    branches = []
    for tool in tools:
        function = tool.get("function", tool)
        if function.get("name") and name in (None, function["name"]):
            parameters = {"type": "object"} if loose else function.get("parameters")
            branches.append(_call_branch(function["name"], parameters or {"type": "object"}))
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def calls_schema(call: dict[str, Any], parallel: bool) -> dict[str, Any]:
    """One call, or a non-empty list of calls when parallel calls are allowed."""
    return {"type": "array", "items": call, "minItems": 1} if parallel else call


def _call_branch(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": name}, "arguments": parameters},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }
