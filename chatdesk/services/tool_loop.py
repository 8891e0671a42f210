"""The tool loop of one chat turn ("reason, act, read the result, reason again"), Qt-free.

A turn with tools may take several model steps. Each step streams a reply through a
``ToolCallStream`` (calls are recognised as they start and never shown as text). A step
that ends with calls adds an assistant message carrying them (``tool_calls``), runs each
call through the ``ToolsService`` (policy, approval callback, audit), adds one ``tool``
message per call with its result, and starts the next step with everything so far. The
turn ends when a step writes no call, after ``max_steps`` steps, when the model writes
``max_malformed`` unreadable calls in a row (each was answered with an error result so
the model could correct itself), or when ``stop()`` is called: the running reply is
cancelled at once, a pending call is not run, and everything that happened is kept.

The caller (the turn service, the CLI) decides how to store and show messages; the loop
reports them through a ``LoopListener`` as they are made and returns them all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatdesk.engine.interface import Engine, ReplyHandle
from chatdesk.engine.types import EngineError, ReplyEvent, SamplingSettings, TextDelta
from chatdesk.services.tools import MAX_STEPS_RANGE, Approver, ToolRun, ToolsService
from chatdesk.tools.calls import ToolCall
from chatdesk.tools.streaming import ParsedReply, ToolCallStream

DEFAULT_MAX_MALFORMED = 2
ChatMessage = dict[str, Any]


class LoopListener(Protocol):
    """What the loop reports as it goes (all optional to act on)."""

    def on_text(self, text: str) -> None:
        """Visible reply text of the current step."""

    def on_message(self, message: ChatMessage) -> None:
        """A finished message of the turn: assistant (maybe with calls) or tool result."""

    def on_tool_started(self, call: ToolCall) -> None:
        """A call was approved (or not) and is about to run."""


class _Silent:
    def on_text(self, text: str) -> None:
        pass

    def on_message(self, message: ChatMessage) -> None:
        pass

    def on_tool_started(self, call: ToolCall) -> None:
        pass


@dataclass
class LoopResult:
    """The turn's new messages, in order, and how it ended."""

    messages: list[ChatMessage] = field(default_factory=list)
    runs: list[ToolRun] = field(default_factory=list)
    steps: int = 0
    stopped: bool = False
    ended_by: str = "answer"  # "answer", "stopped", "step limit", "malformed calls", "error"
    error: str | None = None


def assistant_message(reply: ParsedReply) -> ChatMessage:
    """The assistant message of a step (content "" beside calls: templates expect that)."""
    message: ChatMessage = {"role": "assistant", "content": reply.content}
    if reply.calls:
        message["tool_calls"] = [call.to_message() for call in reply.calls]
    return message


def tool_message(run: ToolRun) -> ChatMessage:
    """A call's result as a ``tool`` message."""
    return {
        "role": "tool",
        "tool_call_id": run.call.id,
        "name": run.call.name,
        "content": run.outcome.text,
    }


@dataclass(frozen=True)
class _Turn:
    """What every step of one turn shares."""

    system_prompt: str
    sampling: SamplingSettings | None
    schemas: list[dict[str, Any]]
    conversation_id: str | None
    formats: list[str] | None
    approve: Approver | None
    approved_by: str | None
    report: LoopListener


class ToolLoop:
    """Runs turns with tools; one turn at a time per instance (``stop`` ends it)."""

    def __init__(
        self,
        engine: Engine,
        tools: ToolsService,
        *,
        max_steps: int | None = None,
        max_malformed: int = DEFAULT_MAX_MALFORMED,
    ) -> None:
        """``max_steps``: default the ``tools.max_steps`` setting."""
        self.engine, self.tools = engine, tools
        low, high = MAX_STEPS_RANGE
        steps = tools.max_steps() if max_steps is None else max_steps
        self.max_steps = max(low, min(high, steps))
        self.max_malformed = max_malformed
        self._stop = threading.Event()
        self._handle: ReplyHandle | None = None

    def stop(self) -> None:
        """End the turn now: cancel the reply being generated, run no further call."""
        self._stop.set()
        handle = self._handle
        if handle is not None:
            handle.cancel()

    def run(
        self,
        history: list[ChatMessage],
        *,
        system_prompt: str = "",
        sampling: SamplingSettings | None = None,
        tool_names: list[str] | None = None,
        conversation_id: str | None = None,
        formats: list[str] | None = None,
        approve: Approver | None = None,
        approved_by: str | None = None,
        listener: LoopListener | None = None,
    ) -> LoopResult:
        """Run one turn after ``history`` (which ends with the user's message)."""
        self._stop.clear()
        turn = _Turn(
            system_prompt,
            sampling,
            self.tools.schemas(tool_names),
            conversation_id,
            formats,
            approve,
            approved_by,
            listener or _Silent(),
        )
        result = LoopResult()
        malformed = 0
        while not self._stop.is_set() and not self._over_steps(result):
            result.steps += 1
            reply = self._step(history + result.messages, turn, result)
            if reply is None:
                break
            self._add(result, assistant_message(reply), turn.report)
            if not reply.calls or self._stop.is_set():
                break
            self._run_calls(reply.calls, turn, result)
            malformed = malformed + 1 if all(c.error for c in reply.calls) else 0
            if malformed > self.max_malformed:
                result.ended_by = "malformed calls"
                break
        result.stopped = self._stop.is_set()
        if result.stopped:
            result.ended_by = "stopped"
        return result

    def _over_steps(self, result: LoopResult) -> bool:
        if result.steps >= self.max_steps:
            result.ended_by = "step limit"
            return True
        return False

    def _step(
        self, messages: list[ChatMessage], turn: _Turn, result: LoopResult
    ) -> ParsedReply | None:
        """One model reply, parsed; None when it failed (``result`` says why)."""
        parser = ToolCallStream(turn.formats)
        handle = self.engine.generate(
            messages,
            turn.system_prompt,
            turn.sampling,
            turn.conversation_id,
            tools=turn.schemas or None,
        )
        self._handle = handle
        if self._stop.is_set():
            handle.cancel()
        handle.on_event(_visible_text(parser, turn.report))
        try:
            handle.wait()
        except EngineError as error:
            result.ended_by, result.error = "error", str(error)
            partial = parser.finish()
            if partial.content:
                self._add(result, {"role": "assistant", "content": partial.content}, turn.report)
            return None
        finally:
            self._handle = None
        return parser.finish()

    def _run_calls(self, calls: list[ToolCall], turn: _Turn, result: LoopResult) -> None:
        for call in calls:
            if self._stop.is_set():
                skipped = {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "name": call.name,
                    "content": "Error: stopped by the user before it ran",
                }
                self._add(result, skipped, turn.report)
                continue
            turn.report.on_tool_started(call)
            run = self.tools.run(
                call,
                conversation_id=turn.conversation_id,
                approve=turn.approve,
                approved_by=turn.approved_by,
            )
            result.runs.append(run)
            self._add(result, tool_message(run), turn.report)

    @staticmethod
    def _add(result: LoopResult, message: ChatMessage, report: LoopListener) -> None:
        result.messages.append(message)
        report.on_message(message)


def _visible_text(parser: ToolCallStream, report: LoopListener) -> Callable[[ReplyEvent], None]:
    def on_event(event: ReplyEvent) -> None:
        if isinstance(event, TextDelta):
            shown = parser.feed(event.text)
            if shown:
                report.on_text(shown)

    return on_event


def describe_call(call: dict[str, Any]) -> str:
    """One line for a stored call: ``name({"a": 1})``, for text exports and the CLI."""
    function = call.get("function") or {}
    arguments = function.get("arguments")
    shown = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return f"{function.get('name', '?')}({shown})"
