"""Limits that keep the render of an untrusted chat template bounded in time and memory.

Jinja's sandbox stops a template from reaching Python internals, not from running forever or
allocating gigabytes in one step ("x"|center(3000000000), '%0900000000d' % 1, two nested
loops over a million items that output nothing). Here every way a template spends time or
memory passes a check before it allocates:

- time: a per-thread ``RenderBudget`` (deadline and an optional cancel event, so Stop stops a
  render too) checked on every call, attribute and item access, operator, output and, through
  the ``_chatdesk_loop`` wrapper the rewritten template puts around every ``for`` iterable, on
  every loop iteration;
- size: lists joined with ``+`` are bounded by their item count first (MAX_LIST_ITEMS: a
  list doubled in a loop is refused in microseconds rather than measured item by item),
  and ``deep_size`` itself checks the deadline as it goes; operators (``*``, ``**``,
  ``+``, ``%``, ``~``), string methods (ljust, center, join,
  replace, format, expandtabs, translate ...) and filters (center, indent, wordwrap, format,
  join, replace, tojson ...) refuse results estimated above MAX_VALUE_CHARS before making
  them; every filter that turns its input into text first measures the input (``deep_size``
  stops counting at the limit, so a list nesting references a million times is cheap to
  refuse); ints are capped at MAX_INT_BITS;
- output: all text the template produces, kept or not (``{% set %}`` blocks, macros, filter
  blocks), counts against MAX_PRODUCED_CHARS;
- ``lipsum`` is not offered (it makes paragraphs in C-speed loops nothing can interrupt).

The rewrite (``rewrite_template``) works on Jinja's parsed tree, so no template text can
escape it, and a template may not use the guards' names itself.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.visitor import NodeTransformer

MAX_VALUE_CHARS = 16 * 1024 * 1024  # any one value a template builds, as text
MAX_REPEAT_CHARS = 1024 * 1024  # "x" * n and [..] * n inside a template
MAX_PRODUCED_CHARS = 64 * 1024 * 1024  # all text produced by one render, kept or not
MAX_INT_BITS = 1 << 16
MAX_LIST_ITEMS = 1 << 16  # items of a list a template concatenates (counted before measuring)
MEASURE_TICK = 4096  # items ``deep_size`` measures between two deadline checks
MAX_FORMAT_WIDTH = 100_000
MAX_INDENT = 64
TICK_EVERY = 32  # checks between two clock reads
LOOP_GUARD, CONCAT_GUARD, OUTPUT_GUARD = "_chatdesk_loop", "_chatdesk_concat", "_chatdesk_out"
GUARD_NAMES = frozenset({LOOP_GUARD, CONCAT_GUARD, OUTPUT_GUARD})
# Filters that never turn their input into text (their size is not measured first).
STRUCTURAL_FILTERS = frozenset(
    [
        "length",
        "count",
        "first",
        "last",
        "selectattr",
        "rejectattr",
        "map",
        "select",
        "reject",
        "default",
        "d",
        "attr",
        "items",
        "dictsort",
        "sort",
        "unique",
        "reverse",
        "min",
        "max",
        "groupby",
        "list",
        "random",
        "int",
        "float",
        "abs",
        "round",
        "bool",
    ]
)
# A width or precision of a million and more, or one taken from the arguments: in a
# printf-style spec, or in a str.format field (nested fields count as from arguments).
_PERCENT_WIDTH = re.compile(r"%[^a-zA-Z%]*?(\d{6,}|\*)")
_FORMAT_WIDTH = re.compile(r"\{[^{}]*\{|\{[^{}:]*:[^{}]*\d{6,}[^{}]*\}")


class TemplateError(Exception):
    """A chat template that cannot be compiled or that fails on this conversation."""


class TemplateStopped(TemplateError):
    """The render was stopped from outside (the user pressed Stop)."""


class RenderBudget(threading.local):
    """Per-thread limits of the render in progress (deadline None: no render running)."""

    deadline: float | None = None
    seconds: float = 0.0
    cancel: threading.Event | None = None
    ticks: int = 0
    produced: int = 0


budget = RenderBudget()


@contextmanager
def render_scope(seconds: float, cancel: threading.Event | None = None) -> Iterator[None]:
    """Limits for the renders inside: at most ``seconds`` from now (never later than an
    enclosing scope's deadline), stopped when ``cancel`` is set."""
    saved = (budget.deadline, budget.seconds, budget.cancel, budget.produced)
    deadline = time.monotonic() + seconds
    if budget.deadline is None or deadline < budget.deadline:
        budget.deadline, budget.seconds = deadline, seconds
    budget.cancel = cancel or budget.cancel
    budget.produced = 0
    try:
        yield
    finally:
        budget.deadline, budget.seconds, budget.cancel, budget.produced = saved


def check_deadline(every: int = TICK_EVERY) -> None:
    """Raise when the render has run out of time or was stopped (clock read every few;
    ``every=1``: now)."""
    budget.ticks += 1
    if budget.deadline is None or budget.ticks % every:
        return
    if budget.cancel is not None and budget.cancel.is_set():
        raise TemplateStopped("stopped while the chat template was rendering")
    if time.monotonic() > budget.deadline:
        raise TemplateError(f"the chat template ran longer than {budget.seconds:g} s")


def deep_size(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """About how many characters ``value`` makes as text; stops counting past ``limit``."""
    total = seen = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        seen += 1
        if seen % MEASURE_TICK == 0:
            check_deadline(every=1)  # measuring a huge nested value must not outlast the budget
        if isinstance(item, str | bytes):
            total += len(item) + 2
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
            total += 2 * len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
            total += 2 * len(item) + 2
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 1
        else:
            total += 8
    return total


def require(ok: bool, what: str) -> None:
    """Refuse a step whose result would be too large."""
    if not ok:
        raise TemplateError(f"the chat template builds an oversized {what}")


def check_sizes(*values: Any) -> None:
    """Refuse values too large to be turned into text."""
    limit = MAX_VALUE_CHARS
    for value in values:
        used = deep_size(value, limit)
        require(used <= limit, "value")
        limit -= used


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Size of ``left <operator> right`` before it is computed."""
    check_deadline()
    if operator == "*":
        _check_product(left, right)
    elif operator == "**" and _is_int(left) and _is_int(right):
        require(right < 0 or abs(left) < 2 or left.bit_length() * right <= MAX_INT_BITS, "power")
    elif operator == "+" and isinstance(left, str | list | tuple):
        if isinstance(left, list | tuple) and isinstance(right, list | tuple):
            require(len(left) + len(right) <= MAX_LIST_ITEMS, "list")  # cheap, before measuring
        check_sizes(left, right)
    elif operator == "%" and isinstance(left, str):
        require(not _PERCENT_WIDTH.search(left), "format")
        check_sizes(left, right)


def _check_product(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        require(left.bit_length() + right.bit_length() <= MAX_INT_BITS, "number")
        return
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and _is_int(times) and times > 0:
            size = len(seq) if isinstance(seq, str) else deep_size(seq, MAX_REPEAT_CHARS)
            require(size * times <= MAX_REPEAT_CHARS, "string")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value: Any) -> int:
    return int(value) if _is_int(value) else 0


def check_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Size of a string method's result before it is computed."""
    check_deadline()
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(obj, "__name__", "")
    values = (*args, *kwargs.values())
    if name in ("ljust", "rjust", "center", "zfill"):
        require(all(not _is_int(v) or v <= MAX_VALUE_CHARS for v in values), "string")
    elif name == "expandtabs":
        size = (owner.count("\t") + 1) * max([8, *(v for v in values if _is_int(v))])
        require(size <= MAX_VALUE_CHARS, "string")
    elif name in ("join", "format", "format_map"):
        require(name == "join" or not _FORMAT_WIDTH.search(owner), "format")
        check_sizes(owner, *values)
        if name == "join" and args and isinstance(args[0], list | tuple):
            require(len(owner) * len(args[0]) <= MAX_VALUE_CHARS, "string")
    elif name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1])
    elif name == "translate":
        longest = max((deep_size(v) for v in _table_values(args)), default=0)
        require(len(owner) * longest <= MAX_VALUE_CHARS, "string")


def _table_values(args: tuple[Any, ...]) -> list[Any]:
    return list(args[0].values()) if args and isinstance(args[0], Mapping) else []


def _check_replace(text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = text.count(old) if old else len(text) + 1
        require(len(text) + hits * len(new) <= MAX_VALUE_CHARS, "string")


_PASSED_ARGS = (jinja2.runtime.Context, jinja2.Environment, nodes.EvalContext)


def guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (a Jinja filter) with its inputs measured and its output size capped."""
    special = _FILTER_CHECKS.get(name)

    def guarded(*args: Any, **kwargs: Any) -> Any:
        check_deadline()
        values = [a for a in args if not isinstance(a, _PASSED_ARGS)]
        if name not in STRUCTURAL_FILTERS:
            check_sizes(*values, *kwargs.values())
        elif name == "sum":
            check_sizes(*values)
        if special is not None:
            special(values, kwargs)
        return function(*args, **kwargs)

    for attribute in ("jinja_pass_arg",):  # keep Jinja's context/environment passing
        if hasattr(function, attribute):
            setattr(guarded, attribute, getattr(function, attribute))
    return guarded


def _width_check(position: int, keyword: str) -> Callable[[list[Any], dict[str, Any]], None]:
    def check(values: list[Any], kwargs: dict[str, Any]) -> None:
        width = kwargs.get(keyword, values[position] if len(values) > position else 0)
        size = len(width) if isinstance(width, str) else width if _is_int(width) else 0
        text = values[0] if values else ""
        lines = str(text).count("\n") + 1 if isinstance(text, str) else 1
        require(size <= MAX_VALUE_CHARS and size * lines <= MAX_VALUE_CHARS, "string")

    return check


def _wordwrap_check(values: list[Any], kwargs: dict[str, Any]) -> None:
    width = kwargs.get("width", values[1] if len(values) > 1 else 79)
    wrap = kwargs.get("wrapstring", values[3] if len(values) > 3 else "\n") or "\n"
    text = values[0] if values else ""
    if isinstance(text, str) and _is_int(width) and width > 0 and isinstance(wrap, str):
        require(len(text) + (len(text) // width + 1) * len(wrap) <= MAX_VALUE_CHARS, "string")


def _format_check(values: list[Any], _kwargs: dict[str, Any]) -> None:
    if values and isinstance(values[0], str):
        check_binop("%", values[0], tuple(values[1:]))


def _replace_check(values: list[Any], _kwargs: dict[str, Any]) -> None:
    if len(values) >= 3:
        _check_replace(values[0], values[1], values[2])


def _join_check(values: list[Any], kwargs: dict[str, Any]) -> None:
    separator = kwargs.get("d", values[1] if len(values) > 1 else "")
    items = values[0] if values else ()
    count = len(items) if hasattr(items, "__len__") else 0
    require(len(str(separator)) * count <= MAX_VALUE_CHARS, "string")


def _slice_check(values: list[Any], kwargs: dict[str, Any]) -> None:
    slices = kwargs.get("slices", values[1] if len(values) > 1 else 1)
    require(not _is_int(slices) or slices <= MAX_FORMAT_WIDTH, "list")


def _tojson_check(values: list[Any], kwargs: dict[str, Any]) -> None:
    indent = kwargs.get("indent", values[2] if len(values) > 2 else None)
    require((len(indent) if isinstance(indent, str) else _as_int(indent)) <= MAX_INDENT, "indent")


_FILTER_CHECKS: dict[str, Callable[[list[Any], dict[str, Any]], None]] = {
    "center": _width_check(1, "width"),
    "indent": _width_check(1, "width"),
    "truncate": _width_check(2, "end"),
    "wordwrap": _wordwrap_check,
    "format": _format_check,
    "replace": _replace_check,
    "join": _join_check,
    "slice": _slice_check,
    "batch": _slice_check,
    "tojson": _tojson_check,
}


class LoopGuard:
    """A ``for`` loop's iterable that checks the budget at every item (keeps its length)."""

    def __init__(self, iterable: Any) -> None:
        self._iterable = iterable

    def __iter__(self) -> Iterator[Any]:
        for item in self._iterable:
            check_deadline()
            yield item

    def __len__(self) -> int:
        return len(self._iterable)


def guarded_concat(*parts: Any) -> str:
    """``a ~ b``: measured before the parts are turned into text."""
    check_sizes(*parts)
    return "".join(str(part) for part in parts)


def guarded_output(value: Any) -> Any:
    """Every piece of output (kept or captured by set blocks and macros) is counted."""
    size = deep_size(value)
    require(size <= MAX_VALUE_CHARS, "value")
    budget.produced += size
    if budget.deadline is not None and budget.produced > MAX_PRODUCED_CHARS:
        raise TemplateError(
            f"the chat template produced more than {MAX_PRODUCED_CHARS:,} characters"
        )
    check_deadline()
    return value


GUARD_GLOBALS: dict[str, Any] = {
    LOOP_GUARD: LoopGuard,
    CONCAT_GUARD: guarded_concat,
    OUTPUT_GUARD: guarded_output,
}


class _Rewriter(NodeTransformer):
    """Puts the guards around loops, concatenations and output in a parsed template."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _guard_call(LOOP_GUARD, [node.iter], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _guard_call(CONCAT_GUARD, list(node.nodes), node.lineno)

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [_guard_call(OUTPUT_GUARD, [child], node.lineno) for child in node.nodes]
        return node


def _guard_call(name: str, args: list[Any], lineno: int) -> nodes.Call:
    call = nodes.Call(nodes.Name(name, "load"), args, [], None, None)
    call.set_lineno(lineno)
    return call


def rewrite_template(tree: nodes.Template, environment: jinja2.Environment) -> nodes.Template:
    """``tree`` with the guards in place; a template naming a guard itself is refused."""
    for name in tree.find_all(nodes.Name):
        if name.name in GUARD_NAMES:
            raise jinja2.TemplateSyntaxError(f"the name {name.name!r} is reserved", name.lineno)
    rewritten = _Rewriter().visit(tree)
    rewritten.set_environment(environment)
    return rewritten
