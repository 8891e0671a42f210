"""How one reply offers tools to the loaded model: natively or in the generic format.

``plan_tools`` decides from the model's tool format (``ModelInfo.tool_format``, detected from
its chat template) and the caller's tool choice:

- ``none`` (or no tools): nothing is offered; the reply is text.
- native (a template that renders tools, choice ``auto``): the tools go to the chat template
  and the reply is read in the template's own call format.
- generic (a template without tools, or ``required`` / a named tool, which a native format
  cannot enforce): the tools are described in the system message and a grammar holds the
  reply to a call (``required``, named) or to a call or a plain reply (``auto``), see
  ``chatdesk.tools.generic``; the reply is read by the generic JSON format.

Used by the chat turns (window, command line) and the API server alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chatdesk.engine.constrain import Constraint, SchemaRefused, call_or_reply, compile_schema
from chatdesk.tools.formats import GENERIC, describe_tool_format
from chatdesk.tools.generic import call_schema, generic_system_text, loose_call_schema

CHOICES = ("auto", "none", "required", "named")
__all__ = ["CHOICES", "ToolPlan", "describe_tool_format", "plan_tools"]


@dataclass(frozen=True)
class ToolPlan:
    """What the engine gets for the tools of one reply, and how the reply is read."""

    mode: str  # "native" | "generic" | "none"
    tools: list[dict[str, Any]] | None = None  # for the chat template (native only)
    system_text: str = ""  # appended to the system prompt (generic only)
    constraint: Constraint | None = None
    parser_format: str | None = None  # the reply's format (None: every format)
    names: tuple[str, ...] = ()

    def system_prompt(self, base: str) -> str:
        """The system prompt with this plan's tool description."""
        if not self.system_text:
            return base
        return f"{base}\n\n{self.system_text}" if base else self.system_text

    def messages(self, messages: list[Any]) -> list[Any]:
        """The conversation as the model is shown it. Generic: a template without tools
        drops ``tool_calls``, so earlier calls are written into the assistant's text in the
        shape the model is asked to use (not empty turns)."""
        if self.mode != "generic":
            return messages
        return [_with_calls_as_text(m) for m in messages]

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Engine.generate`` / ``render_prompt``."""
        options: dict[str, Any] = {}
        if self.tools:
            options["tools"] = self.tools
        if self.constraint is not None:
            options["constraint"] = self.constraint
        return options


def plan_tools(
    tools: list[dict[str, Any]] | None,
    tool_format: str,
    choice: str = "auto",
    name: str | None = None,
    parallel: bool = True,
) -> ToolPlan:
    """The plan for ``tools`` offered to a model whose format is ``tool_format``."""
    names = tuple(t.get("function", t).get("name", "") for t in tools or [])
    if not tools or choice == "none":
        return ToolPlan("none", parser_format=tool_format or None)
    if tool_format != GENERIC and choice == "auto":
        return ToolPlan("native", tools, parser_format=tool_format or None, names=names)
    text = generic_system_text(tools, choice, name, parallel)
    forced = choice in ("required", "named")
    return ToolPlan(
        "generic", None, text, generic_constraint(tools, name, parallel, forced), GENERIC, names
    )


def generic_constraint(
    tools: list[dict[str, Any]], name: str | None, parallel: bool, forced: bool
) -> Constraint:
    """The grammar of a generic reply; any-object arguments when a parameter schema is
    beyond the grammar (the tool still checks its arguments)."""
    try:
        return _compile(call_schema(tools, name, parallel), forced)
    except SchemaRefused:
        return _compile(loose_call_schema(tools, name, parallel), forced)


def _compile(schema: dict[str, Any], forced: bool) -> Constraint:
    return compile_schema(schema) if forced else call_or_reply(schema)


def _with_calls_as_text(message: Any) -> Any:
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    if not calls:
        return message
    written = [
        {
            "name": c.get("function", {}).get("name"),
            "arguments": c.get("function", {}).get("arguments"),
        }
        for c in calls
    ]
    text = json.dumps({"tool_calls": written}, ensure_ascii=False)
    content = f"{message.get('content') or ''}\n{text}".strip()
    return {k: v for k, v in message.items() if k != "tool_calls"} | {"content": content}
