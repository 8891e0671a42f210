"""What an engine can honour of a ``ChatRequest``, and what a request asks beyond that.

Every engine reports ``EngineCapabilities`` once a model is loaded (they can depend on the
model: a chat template that renders tools, a server that passes them on). Before it starts
a reply, an engine calls ``refuse_unsupported``: a request asking for something the engine
cannot honour fails up front with one clear ``EngineError`` (code ``unsupported``) naming
each such field; nothing is dropped silently. ``describe`` is the one-line summary the
window and the command line show.

Levels:

- ``tools``: ``native`` (the chat template or the server takes tool definitions),
  ``generic`` (ChatDesk writes them into the system prompt itself), ``none``.
- ``tool_choice``: the ``ToolChoice`` modes honoured (``auto`` always).
- ``response_format``: ``enforced`` (the engine constrains sampling), ``passed_through``
  (sent on to a server, which enforces it or not), ``none`` (only plain text).
- ``render``: ``exact`` (the text and token count the model receives) or ``estimate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from chatdesk.engine.types import EngineError, ErrorCode, _JSONData

if TYPE_CHECKING:
    from chatdesk.engine.request import ChatRequest

UNSUPPORTED = ErrorCode.UNSUPPORTED  # EngineError code of a refused request


@dataclass(frozen=True)
class RenderedPrompt:
    """What ``Engine.render`` gives: the prompt text, its token count, and whether both
    are exactly what the model receives (a remote server applies its own template)."""

    text: str
    tokens: int
    exact: bool = True


@dataclass(frozen=True)
class EngineCapabilities(_JSONData):
    """What an engine can honour (see the module docstring for the levels)."""

    tools: Literal["native", "generic", "none"] = "none"
    tool_choice: tuple[str, ...] = ("auto",)
    single_tool_call: bool = False  # can hold the model to one call (parallel_tool_calls off)
    response_format: Literal["enforced", "passed_through", "none"] = "none"
    logprobs: bool = False
    continuation: bool = False  # continue an unfinished assistant reply
    render: Literal["exact", "estimate"] = "estimate"
    example_pinning: bool = False  # few-shot examples never dropped to fit the context

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineCapabilities:
        """Rebuild from ``to_dict`` output (JSON turns the tuple into a list)."""
        choice = tuple(data.get("tool_choice") or ("auto",))
        return cls(**{**{k: v for k, v in data.items() if k in _FIELDS}, "tool_choice": choice})

    def describe(self) -> str:
        """One line for the window and the command line."""
        tools = {"native": "tools", "generic": "tools (in the system prompt)", "none": ""}
        formats = {"enforced": "JSON output", "passed_through": "JSON output (by the server)"}
        parts = [
            tools[self.tools],
            formats.get(self.response_format, ""),
            "token probabilities" if self.logprobs else "",
            "continue" if self.continuation else "",
            "pinned examples" if self.example_pinning else "",
        ]
        can = ", ".join(p for p in parts if p) or "plain replies only"
        render = "exact prompt" if self.render == "exact" else "estimated prompt"
        return f"{can}; {render}"


_FIELDS = frozenset(EngineCapabilities.__dataclass_fields__)


def local_capabilities(takes_tools: bool) -> EngineCapabilities:
    """What the llama.cpp engine host honours, with a chat template that does (or does
    not: tools go into the system prompt) take tools."""
    return EngineCapabilities(
        tools="native" if takes_tools else "generic",
        tool_choice=("auto", "none"),
        response_format="none",
        logprobs=True,
        continuation=True,
        render="exact",
        example_pinning=True,
    )


def unsupported(request: ChatRequest, capabilities: EngineCapabilities) -> list[str]:
    """The fields of ``request`` that an engine with ``capabilities`` cannot honour, each
    as a short phrase naming the field (empty: it can honour everything)."""
    problems = []
    if request.tools and capabilities.tools == "none":
        problems.append("tools")
    if request.tool_choice.mode not in capabilities.tool_choice:
        problems.append(f"tool_choice {request.tool_choice.mode!r}")
    if request.tools and not request.parallel_tool_calls and not capabilities.single_tool_call:
        problems.append("parallel_tool_calls false")
    wanted = request.response_format
    if wanted is not None and wanted.type != "text" and capabilities.response_format == "none":
        problems.append(f"response_format {wanted.type!r}")
    if request.logprobs and not capabilities.logprobs:
        problems.append("logprobs (token probabilities)")
    if request.continues and not capabilities.continuation:
        problems.append("continue (the last message is the assistant's)")
    if request.examples and not capabilities.example_pinning:
        problems.append("few-shot examples (pinned)")
    return problems


def refuse_unsupported(request: ChatRequest, capabilities: EngineCapabilities, who: str) -> None:
    """Raise one clear EngineError when ``who`` (an engine's name) cannot honour all of
    ``request``."""
    problems = unsupported(request, capabilities)
    if problems:
        raise EngineError(
            f"{who} cannot honour this request: {'; '.join(problems)} "
            f"(it offers: {capabilities.describe()})",
            UNSUPPORTED,
        )
