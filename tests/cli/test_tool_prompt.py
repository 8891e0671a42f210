"""The terminal approval prompt and the terminal report of a tool loop."""

from __future__ import annotations

import io

from chatdesk.cli.tool_prompt import TerminalToolReport, terminal_approver
from chatdesk.services.tools import Approval, ApprovalRequest
from chatdesk.tools.calls import ToolCall

REQUEST = ApprovalRequest("python", "built-in", {"code": "print(1)"})


def test_asks_until_it_gets_an_answer() -> None:
    answers = iter(["maybe", "A"])
    out = io.StringIO()
    approve = terminal_approver(lambda _prompt: next(answers), out, interactive=True)
    assert approve(REQUEST) is Approval.ALWAYS
    assert '"code": "print(1)"' in out.getvalue()
    assert "Please answer o, a or d." in out.getvalue()


def test_end_of_input_denies() -> None:
    def closed(_prompt: str) -> str:
        raise EOFError

    assert terminal_approver(closed, io.StringIO(), interactive=True)(REQUEST) is Approval.DENY


def test_without_a_terminal_it_denies_and_says_to_pass_yes() -> None:
    out = io.StringIO()
    assert terminal_approver(input, out, interactive=False)(REQUEST) is Approval.DENY
    assert "--yes" in out.getvalue()


def test_report_keeps_answer_on_stdout_and_tools_on_stderr() -> None:
    text, info = io.StringIO(), io.StringIO()
    report = TerminalToolReport(text, info)
    report.on_text("The answer ")
    report.on_tool_started(ToolCall("calculator", {"expression": "1+1"}))
    report.on_message({"role": "tool", "content": "2" * 1000})
    report.on_text("is 2.")
    assert text.getvalue() == "The answer is 2."
    assert info.getvalue().startswith("\n[tool calculator]\n[result] 222")
    assert len(info.getvalue()) < 450
