"""The tools' window parts: approval dialog, the approver a worker thread calls, the
collapsed tool message, and the Tools dialog (policies, switches, MCP servers, audit log)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QWidget
from pytestqt.qtbot import QtBot

from chatdesk.services.tool_turns import tool_state
from chatdesk.services.tools import Approval, ApprovalRequest, ToolsService
from chatdesk.store import Store
from chatdesk.ui.tool_approval import GuiApprover, ToolApprovalDialog
from chatdesk.ui.tool_message import ToolMessageWidget
from chatdesk.ui.tools_dialog import ToolsDialog
from tests.support.scripted_engine import ScriptedEngine
from tests.ui.conftest import wait_for_model
from tests.ui.test_window import type_and_send

REQUEST = ApprovalRequest("weather__get_weather", "weather", {"city": "Zürich", "days": 3})
SERVERS = Path(__file__).parent.parent / "tools" / "servers"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ToolsService]:
    with Store(tmp_path / "chatdesk.db") as store:
        yield ToolsService(store, tmp_path / "mcp.json")


def test_approval_dialog_names_tool_server_and_arguments(qtbot: QtBot) -> None:
    dialog = ToolApprovalDialog(REQUEST)
    qtbot.addWidget(dialog)
    assert "weather__get_weather" in dialog.summary.text()
    assert "MCP server “weather”" in dialog.summary.text()
    assert json.loads(dialog.arguments.toPlainText()) == {"city": "Zürich", "days": 3}
    assert dialog.arguments.isReadOnly()
    dialog.buttons[Approval.ALWAYS].click()
    assert dialog.answer is Approval.ALWAYS


def answer_next_dialog(qtbot: QtBot, choice: Approval) -> None:
    def click() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ToolApprovalDialog):
            QTimer.singleShot(20, click)
            return
        dialog.buttons[choice].click()

    QTimer.singleShot(20, click)


def test_worker_thread_waits_for_the_users_answer(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    approver = GuiApprover(parent)
    answers: list[Approval] = []
    worker = threading.Thread(target=lambda: answers.append(approver(REQUEST)))
    answer_next_dialog(qtbot, Approval.ONCE)
    worker.start()
    qtbot.waitUntil(lambda: answers == [Approval.ONCE], timeout=5000)
    worker.join(1)


def test_tool_message_is_collapsed_and_plain_text(qtbot: QtBot) -> None:
    call = {"id": "a1B2c3D4e", "type": "function",
            "function": {"name": "python", "arguments": '{"code": "print(1)"}'}}  # fmt: skip
    widget = ToolMessageWidget(call, "<b>not bold</b>\nsecond line")
    qtbot.addWidget(widget)
    widget.show()
    assert widget.toggle.text() == "Tool python · <b>not bold</b>"
    assert not widget.details.isVisible()
    widget.toggle.click()
    assert widget.details.isVisible()
    assert json.loads(widget.arguments.toPlainText()) == {"code": "print(1)"}
    assert widget.output.toPlainText() == "<b>not bold</b>\nsecond line"


def test_tools_dialog_sets_policy_and_switches_and_shows_the_log(
    qtbot: QtBot, service: ToolsService, tmp_path: Path
) -> None:
    config = {
        "mcpServers": {
            "broken": {"command": sys.executable, "args": [str(SERVERS / "bad_server.py"), "crash"]}
        }
    }
    (tmp_path / "mcp.json").write_text(json.dumps(config))
    from chatdesk.tools.calls import ToolCall

    service.run(ToolCall("calculator", {"expression": "1+1"}), approved_by="test")
    dialog = ToolsDialog(service)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.tools_table.rowCount() == 4, timeout=30000)
    names = [dialog.tools_table.item(r, 0).text() for r in range(4)]
    metrics = dialog.tools_table.fontMetrics()
    dialog.show()
    for name in names:  # QA: "current_ti…" while Policy took most of the width
        assert dialog.tools_table.columnWidth(0) > metrics.horizontalAdvance(name)
    row = names.index("python")
    policy = dialog.tools_table.cellWidget(row, 3)
    assert isinstance(policy, QComboBox)
    policy.setCurrentIndex(2)
    assert service.policy("python") == "deny"
    switch = dialog.tools_table.cellWidget(names.index("current_time"), 2)
    assert isinstance(switch, QCheckBox)
    switch.setChecked(False)
    assert not next(e for e in service.tools() if e.name == "current_time").enabled
    assert "cannot open the database" in dialog.servers_table.item(0, 3).text()
    assert dialog.log_table.item(0, 1).text() == "calculator"
    dialog.log_table.setCurrentCell(0, 0)
    assert '"expression": "1+1"' in dialog.log_detail.toPlainText()
    dialog.reject()


# --- the full loop in the window --------------------------------------------------------
CALC = '<tool_call>{"name": "calculator", "arguments": {"expression": "6*7"}}</tool_call>'


def window_with_tools(qtbot: QtBot, make_window: Any, fake_gguf: Path, *replies: str) -> Any:
    engine = ScriptedEngine(rate=2000)
    engine.replies = list(replies)
    window = make_window(lambda: engine)
    window.load_model(str(fake_gguf))
    wait_for_model(qtbot, window)
    window.services.tools.set_offered_in_chat(True)
    return window


def test_window_runs_a_tool_step_after_asking(
    qtbot: QtBot, make_window: Any, fake_gguf: Path
) -> None:
    window = window_with_tools(qtbot, make_window, fake_gguf, "Let me see. " + CALC, "It is 42.")
    answer_next_dialog(qtbot, Approval.ONCE)
    type_and_send(qtbot, window, "What is 6*7?")
    qtbot.waitUntil(lambda: not window.turns.streaming, timeout=15000)
    widgets = window.chat_view.widgets
    assert [w.message.role for w in widgets] == ["user", "assistant", "tool", "assistant"]
    call_step, result, answer = widgets[1:]
    assert "<tool_call>" not in call_step.body.toPlainText()
    assert [t.toggle.text() for t in call_step.tool_widgets] == ["Tool call calculator"]
    assert [t.toggle.text() for t in result.tool_widgets] == ["Tool result · 42"]
    assert not result.body.isVisible()
    assert not result.tool_widgets[0].details.isVisible()
    assert "It is 42." in answer.body.toPlainText()
    entry = window.services.store.tool_audit()[0]
    assert (entry.tool, entry.approval) == ("calculator", "allowed once")


def test_window_stop_while_a_tool_runs(qtbot: QtBot, make_window: Any, fake_gguf: Path) -> None:
    code = '{"name": "python", "arguments": {"code": "import time; time.sleep(20)"}}'
    window = window_with_tools(qtbot, make_window, fake_gguf, f"<tool_call>{code}</tool_call>")
    window.services.tools.set_policy("python", "allow")
    type_and_send(qtbot, window, "Sleep a while")

    def tool_running() -> bool:
        turn = window.turns.current
        state = tool_state(turn) if turn is not None else None
        return state is not None and state.running

    qtbot.waitUntil(tool_running, timeout=10000)
    assert window.composer.stop_button.isVisible()
    window.stop()
    qtbot.waitUntil(lambda: not window.turns.streaming, timeout=2000)
    qtbot.waitUntil(lambda: len(window.chat_view.widgets) == 3, timeout=2000)
    result = window.chat_view.widgets[2]
    assert "stopped by the user" in result.tool_widgets[0].output.toPlainText()


def test_reasoning_is_shown_collapsed_above_the_answer(
    qtbot: QtBot, make_window: Any, fake_gguf: Path
) -> None:
    thought = "<think>Six times seven is forty-two.</think>It is 42."
    window = window_with_tools(qtbot, make_window, fake_gguf, thought)
    type_and_send(qtbot, window, "What is 6*7?")
    qtbot.waitUntil(lambda: not window.turns.streaming, timeout=15000)
    answer = window.chat_view.widgets[-1]
    assert answer.body.toPlainText().strip() == "It is 42."
    assert "think" not in answer.body.toPlainText()
    assert answer.reasoning.isVisible()
    assert answer.reasoning.toggle.text() == "Reasoning (5 words)"
    assert not answer.reasoning.text.isVisible()  # collapsed until opened
    answer.reasoning.toggle.click()
    assert answer.reasoning.text.toPlainText() == "Six times seven is forty-two."


def test_the_model_line_says_which_way_the_model_uses_tools(
    qtbot: QtBot, make_window: Any, fake_gguf: Path
) -> None:
    from dataclasses import replace

    from chatdesk.ui.model_picker import describe_model

    window = window_with_tools(qtbot, make_window, fake_gguf, "Hi.")
    info = window.services.engine.engine.model_info
    assert "native tools (format not recognised" in describe_model(replace(info, tool_format="any"))
    assert "tools in the system prompt" in describe_model(replace(info, tool_format="generic"))
    assert "Hermes / Qwen" in describe_model(replace(info, tool_format="hermes"))


def test_the_tools_dialog_and_the_composer_show_one_switch(qtbot: QtBot, make_window: Any) -> None:
    """QA: unticking the offer in the Tools dialog left the composer's button "Tools on"."""
    window = make_window(ScriptedEngine)
    button = window.composer.tools_button
    button.click()
    assert (button.text(), button.isChecked()) == ("Tools on", True)
    dialog = window.tools.dialog()
    qtbot.addWidget(dialog)
    assert dialog.in_chat.isChecked()
    dialog.in_chat.click()
    assert not window.services.tools.offered_in_chat()
    assert (button.text(), button.isChecked()) == ("Tools", False)
    dialog.in_chat.click()
    assert (button.text(), button.isChecked()) == ("Tools on", True)
    dialog.reject()
