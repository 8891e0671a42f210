"""The tools' window parts: approval dialog, the approver a worker thread calls, the
collapsed tool message, and the Tools dialog (policies, switches, MCP servers, audit log)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QWidget
from pytestqt.qtbot import QtBot

from chatdesk.services.tools import Approval, ApprovalRequest, ToolsService
from chatdesk.store import Store
from chatdesk.ui.tool_approval import GuiApprover, ToolApprovalDialog
from chatdesk.ui.tool_message import ToolMessageWidget
from chatdesk.ui.tools_dialog import ToolsDialog

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
