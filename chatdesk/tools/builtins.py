"""The tools ChatDesk brings: ``python``, ``calculator``, ``current_time``,
``search_conversations``. Each has a JSON schema and returns a ``ToolOutcome``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatdesk.tools.base import FunctionTool, Tool, ToolOutcome, ToolSpec
from chatdesk.tools.calculator import CalculatorError, describe, evaluate
from chatdesk.tools.sandbox import SandboxLimits, run_python

Searcher = Callable[[str, int], Sequence[Any]]  # Store.search: (text, limit) -> hits
MAX_SEARCH_RESULTS = 20


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


PYTHON = ToolSpec(
    "python",
    "Run a Python program in a sandbox (no network, no files outside its own folder, "
    "limited time and memory) and return what it prints. Use print() for results.",
    _object({"code": {"type": "string", "description": "The Python program to run"}}, ["code"]),
)
CALCULATOR = ToolSpec(
    "calculator",
    "Exact arithmetic: + - * / // % ** and parentheses, sqrt, abs, round, floor, ceil, min, "
    "max, gcd, factorial, pi, e. Returns the exact result (fractions stay exact).",
    _object(
        {"expression": {"type": "string", "description": "e.g. (2**64 - 1) / 3"}}, ["expression"]
    ),
)
CURRENT_TIME = ToolSpec(
    "current_time",
    "The current date and time, in the user's time zone or the IANA zone given.",
    _object({"timezone": {"type": "string", "description": "IANA zone, e.g. Europe/Paris"}}, []),
)
SEARCH = ToolSpec(
    "search_conversations",
    "Search the user's earlier conversations in ChatDesk (full text); returns titles and "
    "matching snippets.",
    _object(
        {
            "query": {"type": "string", "description": "Words to look for"},
            "limit": {"type": "integer", "description": f"At most 1-{MAX_SEARCH_RESULTS} results"},
        },
        ["query"],
    ),
)


def _python(limits: SandboxLimits) -> Callable[[dict[str, Any]], ToolOutcome]:
    def run(arguments: dict[str, Any]) -> ToolOutcome:
        result = run_python(arguments["code"], limits)
        details = {
            "exit_code": result.exit_code,
            "stopped": result.stopped,
            "protections": result.protections,
        }
        return ToolOutcome(result.as_text(), not result.ok, details)

    return run


def _calculate(arguments: dict[str, Any]) -> ToolOutcome:
    try:
        return ToolOutcome(describe(evaluate(arguments["expression"])))
    except CalculatorError as error:
        return ToolOutcome.error(str(error))


def _current_time(arguments: dict[str, Any]) -> ToolOutcome:
    zone_name = arguments.get("timezone")
    try:
        zone = ZoneInfo(zone_name) if zone_name else None
    except (ZoneInfoNotFoundError, ValueError):
        return ToolOutcome.error(f"unknown time zone {zone_name!r}")
    now = datetime.now(zone).astimezone(zone)
    return ToolOutcome(now.strftime("%A %Y-%m-%d %H:%M:%S %Z (UTC%z)").strip())


def _search(searcher: Searcher) -> Callable[[dict[str, Any]], ToolOutcome]:
    def run(arguments: dict[str, Any]) -> ToolOutcome:
        limit = max(1, min(MAX_SEARCH_RESULTS, int(arguments.get("limit") or 5)))
        hits = searcher(arguments["query"], limit)
        if not hits:
            return ToolOutcome("No conversation matches.")
        lines = [f"- {hit.title}: {hit.snippet}" for hit in hits]
        return ToolOutcome("\n".join(lines))

    return run


def builtin_tools(
    searcher: Searcher | None = None, limits: SandboxLimits | None = None
) -> list[Tool]:
    """The built-in tools (``search_conversations`` only with a searcher)."""
    tools: list[Tool] = [
        FunctionTool(PYTHON, _python(limits or SandboxLimits())),
        FunctionTool(CALCULATOR, _calculate),
        FunctionTool(CURRENT_TIME, _current_time),
    ]
    if searcher is not None:
        tools.append(FunctionTool(SEARCH, _search(searcher)))
    return tools
