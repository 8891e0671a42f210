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

**Length.** The grammar is bounded by the reply's token budget (``reply_budget``: the
request's ``max_tokens``, or the share of the context kept for the reply), less one token
for the end of the reply: every token is at least one byte, so a call whose every form
fits that many bytes always ends, complete, before the limit (``constrain.fitting_limit``
picks the longest strings that fit). A ``required`` call therefore never comes back cut
off. A schema whose length cannot be bounded (an open-ended ``pattern``, a recursive
``$ref``) falls back to any-object arguments, which can; with ``required`` or a named
tool, a budget too small for even the shortest bounded call is refused with the number of
tokens it needs. With ``auto`` it is not refused (the model may answer in words): the call
then keeps the unbounded grammar and may be cut off, as any reply may.
"""

from __future__ import annotations

from typing import Any

from chatdesk.engine.constrain import Constraint, SchemaRefused, call_or_reply, compile_schema
from chatdesk.engine.request import ChatRequest
from chatdesk.tools.generic import HERMES_PREFIX, HERMES_SUFFIX, call_schema, calls_schema


def tool_constraint(
    request: ChatRequest, native: bool, tokens: int | None = None
) -> Constraint | None:
    """The grammar for ``request``'s tools (None: the reply is free); with ``tokens`` (the
    reply's token budget) every call it allows ends within it."""
    tools = request.openai_tools() or []
    mode = request.tool_choice.mode
    if not tools or mode == "none" or (mode == "auto" and native):
        return None
    name = request.tool_choice.name if mode == "named" else None
    budget = None if tokens is None else max(tokens - 1, 0)  # one token ends the reply
    parallel = request.parallel_tool_calls
    try:
        return _compile(tools, name, mode, parallel, budget, loose=False)
    except SchemaRefused as refused:
        try:
            return _compile(tools, name, mode, parallel, budget, loose=True)
        except SchemaRefused:
            if mode != "auto" or budget is None:
                raise refused from None
    return _compile(tools, name, mode, parallel, None, loose=False)  # auto: may be cut off


def _compile(
    tools: list[dict[str, Any]],
    name: str | None,
    mode: str,
    parallel: bool,
    budget: int | None,
    *,
    loose: bool,
) -> Constraint:
    call = call_schema(tools, name, loose=loose)
    if mode == "auto":
        return call_or_reply(call, HERMES_PREFIX, HERMES_SUFFIX, budget)
    return compile_schema(calls_schema(call, parallel), budget=budget)
