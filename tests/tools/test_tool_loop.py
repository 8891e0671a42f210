"""The tool loop of a turn, driven by a scripted engine that writes tool calls the way a
Hermes/Qwen model does, with the real tools service (real calculator and python sandbox,
real store and audit log)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatdesk.services.tool_loop import ToolLoop
from chatdesk.services.tools import Approval, ApprovalRequest, ToolsService
from chatdesk.store import Store
from chatdesk.tools.calls import ToolCall
from tests.support.scripted_engine import ScriptedEngine

ASK = [{"role": "user", "content": "What is 2**64?"}]
CALC = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2**64"}}\n</tool_call>'


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ToolsService]:
    with Store(tmp_path / "chatdesk.db") as store:
        yield ToolsService(store, tmp_path / "mcp.json")


class Recorder:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.messages: list[dict[str, Any]] = []
        self.started: list[ToolCall] = []

    def on_text(self, text: str) -> None:
        self.text.append(text)

    def on_message(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    def on_tool_started(self, call: ToolCall) -> None:
        self.started.append(call)


def engine_with(*replies: str, rate: float = 2000.0) -> ScriptedEngine:
    engine = ScriptedEngine(rate=rate)
    engine.replies = list(replies)
    return engine


def test_call_result_and_answer(service: ToolsService) -> None:
    engine = engine_with("Let me compute.\n" + CALC, "2**64 is 18446744073709551616.")
    seen = Recorder()
    asked: list[ApprovalRequest] = []
    result = ToolLoop(engine, service).run(
        ASK, approve=lambda r: asked.append(r) or Approval.ONCE, listener=seen
    )
    assert result.ended_by == "answer"
    assert result.steps == 2
    call, tool, answer = result.messages
    assert call["content"] == "Let me compute."
    assert call["tool_calls"][0]["function"] == {
        "name": "calculator",
        "arguments": {"expression": "2**64"},
    }
    assert tool == {
        "role": "tool",
        "tool_call_id": call["tool_calls"][0]["id"],
        "name": "calculator",
        "content": "18446744073709551616",
    }
    assert answer == {"role": "assistant", "content": "2**64 is 18446744073709551616."}
    assert "<tool_call>" not in "".join(seen.text)
    assert seen.messages == result.messages
    assert [a.tool for a in asked] == ["calculator"]
    assert asked[0].source == "built-in"
    second = engine.requests[1]
    assert second["messages"] == [*ASK, call, tool]
    assert {t["function"]["name"] for t in second["tools"]} >= {"calculator", "python"}
    assert service.store.tool_audit()[0].approval == "allowed once"


def test_always_allow_is_remembered(service: ToolsService) -> None:
    engine = engine_with(CALC, CALC, "done")
    asked: list[str] = []
    ToolLoop(engine, service).run(ASK, approve=lambda r: asked.append(r.tool) or Approval.ALWAYS)
    assert asked == ["calculator"]  # the second call ran without asking
    assert service.policy("calculator") == "allow"


def test_denied_call_is_reported_to_the_model(service: ToolsService) -> None:
    engine = engine_with(CALC, "I was not allowed to calculate.")
    result = ToolLoop(engine, service).run(ASK, approve=lambda r: Approval.DENY)
    assert result.messages[1]["content"] == "Error: the user denied this tool call"
    assert result.messages[-1]["content"] == "I was not allowed to calculate."
    assert service.store.tool_audit()[0].approval == "denied"


def test_python_tool_runs_in_the_sandbox(service: ToolsService) -> None:
    code = '{"name": "python", "arguments": {"code": "print(sum(range(101)))"}}'
    engine = engine_with(f"<tool_call>{code}</tool_call>", "5050")
    result = ToolLoop(engine, service).run(ASK, approved_by="--yes")
    assert result.messages[1]["content"] == "5050"
    assert result.runs[0].outcome.details["protections"]


def test_step_limit_ends_the_turn_and_keeps_everything(service: ToolsService) -> None:
    engine = engine_with(CALC, CALC, CALC, CALC)
    result = ToolLoop(engine, service, max_steps=3).run(ASK, approved_by="--yes")
    assert result.ended_by == "step limit"
    assert result.steps == 3
    assert [m["role"] for m in result.messages] == ["assistant", "tool"] * 3


def test_malformed_calls_get_an_error_and_a_bounded_number_of_retries(
    service: ToolsService,
) -> None:
    bad = '<tool_call>{"name": "calculator", "arguments": {"expression": </tool_call>'
    engine = engine_with(bad, bad, bad, bad, "never reached")
    result = ToolLoop(engine, service, max_malformed=2).run(ASK, approved_by="--yes")
    assert result.ended_by == "malformed calls"
    assert result.steps == 3
    errors = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert len(errors) == 3
    assert all("could not be read" in e for e in errors)


def test_unknown_tool_is_an_error_result(service: ToolsService) -> None:
    engine = engine_with('<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>', "ok")
    result = ToolLoop(engine, service).run(ASK, approved_by="--yes")
    assert "unknown tool 'rm_rf'" in result.messages[1]["content"]


def test_stop_while_streaming_ends_at_once_and_keeps_the_text(service: ToolsService) -> None:
    engine = engine_with("word " * 400, rate=200)
    loop = ToolLoop(engine, service)
    seen = Recorder()
    threading.Timer(0.2, loop.stop).start()
    result = loop.run(ASK, listener=seen)
    assert result.stopped
    assert result.ended_by == "stopped"
    assert result.steps == 1
    kept = result.messages[0]["content"]
    assert kept.startswith("word")
    assert len(kept) < len("word " * 400)


def test_stop_during_approval_runs_nothing_more(service: ToolsService) -> None:
    engine = engine_with(
        'Two calls.<tool_call>{"name": "calculator", "arguments": '
        '{"expression": "1+1"}}</tool_call><tool_call>{"name": "calculator",'
        ' "arguments": {"expression": "2+2"}}</tool_call>',
        "never",
    )
    loop = ToolLoop(engine, service)

    def approve(request: ApprovalRequest) -> Approval:
        loop.stop()
        return Approval.DENY

    result = loop.run(ASK, approve=approve)
    assert result.stopped
    assert len(engine.requests) == 1
    assert [m["role"] for m in result.messages] == ["assistant", "tool", "tool"]
    assert result.messages[2]["content"] == "Error: stopped by the user before it ran"
