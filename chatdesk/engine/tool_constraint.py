"""The grammar a reply with tools is held to, built with issue 23's ``constrain`` module.

- ``required`` or a named tool: the reply is the call itself, bare JSON (one call, or a list
  when parallel calls are allowed), naming an offered tool (the named one) with arguments
  that follow its schema. Every reply is then a well-formed call, whatever the model.
- ``auto`` with a template that does not take tools (the tools are in the system prompt in
  the Hermes form, ``tool_prompt``): one ``<tool_call>`` block holding such a call, or a plain
  reply that does not start with ``<``.
- ``auto`` with a template that takes tools, and ``none``: no grammar (the model writes its
  own format; ``chatdesk.tools`` reads it).

A parameter schema the grammar cannot enforce falls back to any object as arguments (the
tool checks them when it runs) rather than refusing the request.
"""

from __future__ import annotations

from typing import Any

from chatdesk.engine.constrain import Constraint, SchemaRefused, call_or_reply, compile_schema
from chatdesk.engine.request import ChatRequest
from chatdesk.tools.generic import HERMES_PREFIX, HERMES_SUFFIX, call_schema, calls_schema


def tool_constraint(request: ChatRequest, native: bool) -> Constraint | None:
    """The grammar for ``request``'s tools (None: the reply is free)."""
    tools = request.openai_tools() or []
    mode = request.tool_choice.mode
    if not tools or mode == "none" or (mode == "auto" and native):
        return None
    name = request.tool_choice.name if mode == "named" else None
    try:
        return _compile(tools, name, mode, request.parallel_tool_calls, loose=False)
    except SchemaRefused:
        return _compile(tools, name, mode, request.parallel_tool_calls, loose=True)


def _compile(
    tools: list[dict[str, Any]], name: str | None, mode: str, parallel: bool, *, loose: bool
) -> Constraint:
    call = call_schema(tools, name, loose=loose)
    if mode == "auto":
        return call_or_reply(call, HERMES_PREFIX, HERMES_SUFFIX)
    return compile_schema(calls_schema(call, parallel))
