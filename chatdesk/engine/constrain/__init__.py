"""Constrained replies: a JSON schema (or "any JSON object") as a grammar, and the check
of every reply against it. One module for structured output and for tool calls.

Qt-free and llama-free: it turns a request's format into a ``Constraint`` (a GBNF grammar
plus what to validate against), which travels to the engine host; the host builds
llama.cpp's grammar sampler from it (``engine/host/grammar.py``). Refusal comes first:
``compile_schema`` raises ``SchemaRefused`` naming the keyword and its JSON pointer for
anything the grammar cannot enforce exactly (or that is not a well-formed value for its
keyword), before any token is generated. The compiler's own walk is the schema check: it
refuses every keyword it does not know, so the (slow, ~50 ms) metaschema validation is
not needed on the request path. After the
reply, ``check_reply`` parses and validates it with ``jsonschema``; a reply cut off by the
token limit is "incomplete", never valid.

For tool calls, ``call_or_reply`` builds one grammar that accepts either a call (a fixed
prefix, a JSON document that follows the call schema, a fixed suffix) or a plain reply that
does not start like a call; ``wrapped_calls`` one or more calls, each inside the model
family's own markers (``<tool_call>\\n`` ... ``\\n</tool_call>``), and nothing else.

Given a ``budget`` (bytes), ``compile_schema`` and ``call_or_reply`` write a *bounded*
grammar (``compiler``'s note) with the largest string limit whose longest document (or
call) fits the budget (``bounds``): every token is at least one byte, so such a reply
always ends, complete, within that many tokens. A schema whose length cannot be bounded,
or whose shortest bounded form does not fit, is refused (``SchemaRefused`` on
``max_tokens``) rather than cut off later.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import jsonschema

from chatdesk.engine.constrain.bounds import largest_fitting, max_bytes, repeat
from chatdesk.engine.constrain.compiler import (
    BudgetTooSmall,
    GrammarCompiler,
    SchemaRefused,
    items_for,
)
from chatdesk.engine.constrain.patterns import exact

if TYPE_CHECKING:
    from chatdesk.engine.request import ChatRequest, ResponseFormat

__all__ = [
    "Constraint",
    "ReplyCheck",
    "SchemaRefused",
    "call_or_reply",
    "check_reply",
    "compile_json_object",
    "compile_schema",
    "constraint_for",
    "format_constraint",
    "validate_value",
    "wrapped_calls",
]

MAX_STRING_BYTES = 2048  # a bounded grammar's strings never get more, whatever the budget
ConstraintKind = Literal["json_object", "json_schema", "call_or_reply", "wrapped_calls"]
CheckStatus = Literal["valid", "invalid", "incomplete"]


@dataclass(frozen=True)
class Constraint:
    """What the engine host enforces (``grammar``) and what a reply is checked against."""

    kind: ConstraintKind
    grammar: str
    schema: dict[str, Any] | None = None  # json_schema / call_or_reply: the (call) schema
    name: str | None = None
    compile_seconds: float = 0.0
    call_prefix: str = ""  # call_or_reply: text before the call's JSON
    call_suffix: str = ""

    def to_wire(self) -> dict[str, Any]:
        """A JSON-ready dict for the engine-host protocol."""
        return {"kind": self.kind, "grammar": self.grammar}


@dataclass(frozen=True)
class ReplyCheck:
    """The verdict on one reply."""

    status: CheckStatus
    value: Any = None  # the parsed JSON when it parsed
    error: str | None = None

    @property
    def valid(self) -> bool:
        """True only for a complete reply that parses and follows the schema."""
        return self.status == "valid"

    def to_dict(self) -> dict[str, Any]:
        """Status and error, JSON-ready (stored with the reply)."""
        return {"status": self.status, "error": self.error}


def compile_json_object() -> Constraint:
    """Any JSON object (OpenAI's ``json_object`` mode)."""
    return Constraint("json_object", GrammarCompiler({}).grammar("object"))


def compile_schema(schema: Any, name: str | None = None, budget: int | None = None) -> Constraint:
    """Check ``schema`` and compile it; ``SchemaRefused`` names what cannot be enforced.
    With ``budget``, every document the grammar allows takes at most that many bytes."""
    started = time.perf_counter()
    if not isinstance(schema, dict | bool):
        raise SchemaRefused("(schema)", "/", "the schema must be a JSON object or a boolean")
    if budget is None:
        grammar = GrammarCompiler(schema).grammar()
    else:
        limit = fitting_limit(lambda n, chain: GrammarCompiler(schema, n).grammar(chain=chain),
                              budget)  # fmt: skip
        grammar = GrammarCompiler(schema, limit).grammar()
    document = schema if isinstance(schema, dict) else {}  # true: any JSON (false: refused)
    return Constraint("json_schema", grammar, document, name, time.perf_counter() - started)


def constraint_for(request: ChatRequest) -> Constraint | None:
    """What the engine must enforce for ``request`` (None: free text)."""
    return format_constraint(request.response_format)


def format_constraint(wanted: ResponseFormat | None) -> Constraint | None:
    """The constraint of a response format; ``SchemaRefused`` when it cannot be enforced."""
    if wanted is None or wanted.type == "text":
        return None
    if wanted.type == "json_object":
        return compile_json_object()
    return compile_schema(wanted.schema_dict, wanted.name or None)


def call_or_reply(
    call_schema: dict[str, Any], prefix: str = "", suffix: str = "", budget: int | None = None
) -> Constraint:
    """A tool call (``prefix`` + JSON following ``call_schema`` + ``suffix``) or plain text
    whose first character differs from the call's first character. With ``budget``, every
    call the grammar allows takes at most that many bytes (a plain reply stays free)."""
    started = time.perf_counter()
    opening = prefix[:1] or "{"
    reply = f"[^{_class_char(opening)}\\x00] [^\\x00]*"

    def build(limit: int | None, chain: bool = True, with_reply: bool = False) -> str:
        compiler = GrammarCompiler(call_schema, limit)
        body = compiler.schema(call_schema, "")
        call = " ".join(part for part in (exact(prefix) if prefix else "", body,
                                          exact(suffix) if suffix else "") if part)  # fmt: skip
        return compiler.grammar(f"({call}) | {reply}" if with_reply else call, chain=chain)

    limit = None if budget is None else fitting_limit(build, budget)
    grammar = build(limit, with_reply=True)
    return Constraint("call_or_reply", grammar, call_schema, None,
                      time.perf_counter() - started, prefix, suffix)  # fmt: skip


def wrapped_calls(
    call_schema: dict[str, Any], prefix: str, suffix: str, parallel: bool, budget: int | None
) -> Constraint:
    """Calls only, each ``prefix`` + JSON following ``call_schema`` + ``suffix`` (one, or
    when ``parallel`` several separated by a newline; with ``budget``, at most as many as
    a bounded array holds, all of them within ``budget`` bytes)."""
    started = time.perf_counter()

    def build(limit: int | None, chain: bool = True) -> str:
        compiler = GrammarCompiler(call_schema, limit)
        block = f"{exact(prefix)} {compiler.schema(call_schema, '')} {exact(suffix)}"
        more = "" if not parallel else f'( "\\n" {block} )*'
        if parallel and limit is not None:
            more = repeat(f'"\\n" {block}', items_for(limit) - 1)
        return compiler.grammar(f"{block} {more}".strip(), chain=chain)

    limit = None if budget is None else fitting_limit(build, budget)
    return Constraint("wrapped_calls", build(limit), call_schema, None,
                      time.perf_counter() - started, prefix, suffix)  # fmt: skip


def fitting_limit(build: Callable[[int, bool], str], budget: int) -> int:
    """The largest string limit whose grammar (``build(limit, chain)``) fits ``budget``
    bytes; BudgetTooSmall when its length cannot be bounded or not even limit 0 fits.
    ``budget`` is the request's ``max_tokens`` less the token that ends the reply."""
    shortest = max_bytes(build(0, False))
    if math.isinf(shortest):
        raise BudgetTooSmall("the length of the reply cannot be bounded "
                             "(an open-ended pattern or a recursive $ref)")  # fmt: skip
    limit = largest_fitting(lambda n: build(n, False), budget, min(budget, MAX_STRING_BYTES))
    if limit is None:
        raise BudgetTooSmall(f"the reply may need {shortest + 1:.0f} tokens (a token for each "
                             f"byte of its shortest form and one to end it); max_tokens is "
                             f"{budget + 1}")  # fmt: skip
    return limit


def _class_char(char: str) -> str:
    return f"\\x{ord(char):02X}" if ord(char) < 0x100 else f"\\U{ord(char):08X}"


def check_reply(text: str, constraint: Constraint, finish_reason: str = "stop") -> ReplyCheck:
    """Parse and validate a whole reply; cut off by the token limit means incomplete."""
    if finish_reason in ("length", "cancelled"):
        why = "the token limit" if finish_reason == "length" else "Stop"
        return ReplyCheck("incomplete", None, f"incomplete JSON: the reply was cut off by {why}")
    try:
        value = json.loads(text)
    except ValueError as error:
        return ReplyCheck("invalid", None, f"not JSON: {error}")
    if constraint.kind == "json_object":
        ok = isinstance(value, dict)
        return ReplyCheck("valid" if ok else "invalid", value, None if ok else "not an object")
    return validate_value(value, constraint.schema or {})


def validate_value(value: Any, schema: dict[str, Any]) -> ReplyCheck:
    """Validate a parsed value against ``schema`` with ``jsonschema`` (draft 2020-12)."""
    validator = jsonschema.Draft202012Validator(schema)
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except (jsonschema.SchemaError, re.error) as bad:
        return ReplyCheck("invalid", value, f"the schema could not be applied: {bad}")
    if error is None:
        return ReplyCheck("valid", value)
    where = "/" + "/".join(str(part) for part in error.absolute_path)
    return ReplyCheck("invalid", value, f"{error.message} (at {where})")
