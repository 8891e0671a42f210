"""Tools for a model whose chat template has none: the generic format (llama-server's idea).

The tool definitions go into the system message as text, with the one shape a call must
take: ``{"tool_calls": [{"name": ..., "arguments": {...}}]}``. The reply is then held to a
grammar (built by ``chatdesk.engine.constrain`` from ``call_schema``): with tool choice
``auto`` it is either such a call or a plain reply (that does not start with ``{``); with
``required`` or a named tool it must be a call, of that tool; ``none`` offers no tools. One
call per reply when parallel calls are off. The reply is read by the ``generic`` format
(``formats``), which takes that JSON as calls and anything else as text.

Pure data (no engine, no llama): the caller compiles ``call_schema`` into a constraint, and
falls back to ``loose_call_schema`` (any object as arguments) when a tool's parameter schema
uses keywords the grammar cannot enforce.
"""

from __future__ import annotations

import json
from typing import Any

GENERIC_INTRO = (
    "You can call tools. To call one, reply with only this JSON and nothing else:\n"
    '{"tool_calls": [{"name": "<tool name>", "arguments": {<arguments>}}]}\n'
)


def tool_functions(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``function`` part of each OpenAI-style tool entry (bare entries as they are)."""
    return [t.get("function", t) if isinstance(t, dict) else {} for t in tools]


def generic_system_text(
    tools: list[dict[str, Any]],
    choice: str = "auto",
    name: str | None = None,
    parallel: bool = True,
) -> str:
    """What the system message says about the tools (appended to the user's system prompt)."""
    lines = [GENERIC_INTRO, "The tools:"]
    for function in tool_functions(tools):
        parameters = json.dumps(function.get("parameters") or {}, ensure_ascii=False)
        lines.append(f"- {function.get('name')}: {function.get('description', '')}")
        lines.append(f"  arguments (JSON schema): {parameters}")
    if choice == "required":
        lines.append("You must call a tool now.")
    elif choice == "named":
        lines.append(f"You must call the tool {name} now.")
    else:
        lines.append("If no tool is needed, answer in plain text instead (not JSON).")
    if not parallel:
        lines.append("Call at most one tool per reply.")
    return "\n".join(lines)


def call_schema(
    tools: list[dict[str, Any]], name: str | None = None, parallel: bool = True
) -> dict[str, Any]:
    """The JSON schema of a generic call: ``{"tool_calls": [...]}``, one item per call, each
    naming one of ``tools`` (only ``name`` when given) with that tool's arguments."""
    branches = [
        _call_branch(f["name"], f.get("parameters") or {"type": "object"})
        for f in tool_functions(tools)
        if f.get("name") and (name is None or f["name"] == name)
    ]
    return _wrapper(branches, parallel)


def loose_call_schema(
    tools: list[dict[str, Any]], name: str | None = None, parallel: bool = True
) -> dict[str, Any]:
    """As ``call_schema``, with any JSON object as arguments (a fallback for parameter
    schemas the grammar cannot enforce; the tool checks its arguments when it runs)."""
    names = [f["name"] for f in tool_functions(tools) if f.get("name")]
    chosen = [n for n in names if name is None or n == name]
    return _wrapper([_call_branch(n, {"type": "object"}) for n in chosen], parallel)


def _call_branch(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": name}, "arguments": parameters},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def _wrapper(branches: list[dict[str, Any]], parallel: bool) -> dict[str, Any]:
    items: dict[str, Any] = {"anyOf": branches} if len(branches) > 1 else branches[0]
    calls: dict[str, Any] = {"type": "array", "items": items, "minItems": 1}
    if not parallel:
        calls["maxItems"] = 1
    return {
        "type": "object",
        "properties": {"tool_calls": calls},
        "required": ["tool_calls"],
        "additionalProperties": False,
    }
