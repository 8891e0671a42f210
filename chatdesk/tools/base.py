"""What every tool is: a name, a JSON schema for its arguments, and a way to run it.

Built-in tools and MCP servers' tools look the same to the rest of the app: a ``ToolSpec``
(what the model is told, in the OpenAI ``{"type": "function", ...}`` shape chat templates
expect, plus the ``source`` a user is shown: "built-in" or the MCP server's name) and a
``run`` that returns a ``ToolOutcome``. A tool never raises for bad input or a failure of
its own; it returns an outcome with ``is_error`` set and a one-line reason.

``check_arguments`` applies the schema's top level (required names, property types, no
unknown names when ``additionalProperties`` is false) before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

BUILT_IN = "built-in"
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model and the user see it."""

    name: str
    description: str
    parameters: dict[str, Any]
    source: str = BUILT_IN

    def schema(self) -> dict[str, Any]:
        """The entry of the ``tools`` list a chat template receives."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(frozen=True)
class ToolOutcome:
    """What a run gave: text for the model, whether it failed, and details for the user."""

    text: str
    is_error: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def error(cls, reason: str, **details: Any) -> ToolOutcome:
        return cls(f"Error: {reason}", True, details)


class Tool(Protocol):
    """Anything with a spec that can be run with a dict of arguments."""

    @property
    def spec(self) -> ToolSpec: ...

    def run(self, arguments: dict[str, Any]) -> ToolOutcome: ...


@dataclass(frozen=True)
class FunctionTool:
    """A tool implemented by a Python function of the arguments."""

    spec: ToolSpec
    function: Callable[[dict[str, Any]], ToolOutcome]

    def run(self, arguments: dict[str, Any]) -> ToolOutcome:
        problem = check_arguments(self.spec.parameters, arguments)
        return ToolOutcome.error(problem) if problem else self.function(arguments)


def _type_ok(value: Any, expected: Any) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    kinds = tuple(k for n in names if isinstance(n, str) for k in JSON_TYPES.get(n, (object,)))
    if isinstance(value, bool) and bool not in kinds:
        return False
    return not kinds or isinstance(value, kinds)


def check_arguments(schema: dict[str, Any], arguments: Any) -> str | None:
    """None when ``arguments`` fit the schema's top level, else the first problem."""
    if not isinstance(arguments, dict):
        return "the arguments must be a JSON object"
    properties = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in arguments:
            return f"missing argument {name!r}"
    for name, value in arguments.items():
        declared = properties.get(name)
        if declared is None:
            if schema.get("additionalProperties") is False:
                return f"unknown argument {name!r} (expected: {', '.join(properties) or 'none'})"
            continue
        if (
            isinstance(declared, dict)
            and "type" in declared
            and not _type_ok(value, declared["type"])
        ):
            return f"argument {name!r} must be of type {declared['type']}"
        if isinstance(declared, dict) and "enum" in declared and value not in declared["enum"]:
            return f"argument {name!r} must be one of {declared['enum']}"
    return None
