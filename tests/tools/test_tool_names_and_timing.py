"""Calls as the model meant them: a tool name in another case runs the real tool; an
unknown name gets an error listing the real names (for the model, with no command-line
hint); the time the approval dialog is open is not counted as the tool's run time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.services.tools import Approval, ApprovalRequest, ToolsService
from chatdesk.store import Store
from chatdesk.tools.calls import ToolCall


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ToolsService]:
    with Store(tmp_path / "chatdesk.db") as store:
        yield ToolsService(store, tmp_path / "mcp.json")


def test_a_name_in_another_case_runs_the_tool_the_model_meant(service: ToolsService) -> None:
    run = service.run(ToolCall("Calculator", {"expression": "6*7"}), approved_by="test")
    assert not run.outcome.is_error, run.outcome.text
    assert "42" in run.outcome.text
    assert run.call.name == "calculator"
    assert service.audit_log()[0].tool == "calculator"


def test_an_unknown_name_lists_the_real_ones_without_a_command_hint(service: ToolsService) -> None:
    run = service.run(ToolCall("Pyton", {"code": "1"}), approved_by="test")
    assert run.outcome.is_error
    assert "unknown tool 'Pyton'" in run.outcome.text
    assert "python, calculator, current_time, search_conversations" in run.outcome.text
    assert "chatdesk" not in run.outcome.text


def test_approval_time_is_not_run_time(service: ToolsService) -> None:
    def slow_user(request: ApprovalRequest) -> Approval:
        time.sleep(0.5)  # the dialog stays open half a second
        return Approval.ONCE

    run = service.run(ToolCall("calculator", {"expression": "1+1"}), approve=slow_user)
    assert not run.outcome.is_error
    assert run.duration_ms is not None
    assert run.duration_ms < 400
    assert service.audit_log()[0].duration_ms == pytest.approx(run.duration_ms)
