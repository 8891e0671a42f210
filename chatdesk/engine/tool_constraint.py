"""The grammar a reply with tools is held to, built with issue 23's ``constrain`` module.

- ``required`` or a named tool: the reply is the call itself, naming an offered tool (the
  named one) with arguments that follow its schema; every reply is then a well-formed call,
  whatever the model. For a template of the Hermes/Qwen family the call is written in the
  family's own syntax (``<tool_call>`` blocks, one per call: ``generic.NATIVE_WRAPS``), as
  the model was trained to; otherwise it is bare JSON (one call, or a list when parallel
  calls are allowed). Other native families keep bare JSON on purpose: their markers are
  control tokens (``[TOOL_CALLS]``, ``<|tool_call|>``, DeepSeek's and Harmony's) that the
  reply's text may not carry, or call shapes that differ per version (Mistral's v11
  ``name[ARGS]``); the reply is never shown as text anyway (it is read into calls, and the
  template writes earlier calls back in its own syntax from the stored calls).
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

from dataclasses import dataclass
from typing import Any

from chatdesk.engine.constrain import (
    Constraint,
    SchemaRefused,
    call_or_reply,
    compile_schema,
    wrapped_calls,
)
from chatdesk.engine.request import ChatRequest
from chatdesk.tools.generic import (
    HERMES_PREFIX,
    HERMES_SUFFIX,
    NATIVE_WRAPS,
    call_schema,
    calls_schema,
)


def tool_constraint(
    request: ChatRequest, native: bool, tokens: int | None = None, family: str | None = None
) -> Constraint | None:
    """The grammar for ``request``'s tools (None: the reply is free); with ``tokens`` (the
    reply's token budget) every call it allows ends within it; ``family``: the template's
    tool-call format (``ModelInfo.tool_format``)."""
    tools = request.openai_tools() or []
    mode = request.tool_choice.mode
    if not tools or mode == "none" or (mode == "auto" and native):
        return None
    name = request.tool_choice.name if mode == "named" else None
    budget = None if tokens is None else max(tokens - 1, 0)  # one token ends the reply
    parallel = request.parallel_tool_calls
    wrap = NATIVE_WRAPS.get(family or "") if native else None
    shape = _Shape(tools, name, mode, parallel, wrap)
    try:
        return shape.compile(budget, loose=False)
    except SchemaRefused as refused:
        try:
            return shape.compile(budget, loose=True)
        except SchemaRefused:
            if mode != "auto" or budget is None:
                raise refused from None
    return shape.compile(None, loose=False)  # auto: may be cut off, as any reply may


@dataclass(frozen=True)
class _Shape:
    """What the reply must look like, compiled for a budget."""

    tools: list[dict[str, Any]]
    name: str | None
    mode: str
    parallel: bool
    wrap: tuple[str, str] | None

    def compile(self, budget: int | None, *, loose: bool) -> Constraint:
        call = call_schema(self.tools, self.name, loose=loose)
        if self.mode == "auto":
            return call_or_reply(call, HERMES_PREFIX, HERMES_SUFFIX, budget)
        if self.wrap:
            return wrapped_calls(call, *self.wrap, self.parallel, budget)
        return compile_schema(calls_schema(call, self.parallel), budget=budget)
