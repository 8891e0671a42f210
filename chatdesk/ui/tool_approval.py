"""Asking the user before a tool runs: the approval dialog, and a thread-safe approver.

The dialog names the tool and where it comes from (built-in or the MCP server), shows the
arguments as formatted JSON in a read-only plain-text box (model-written text is never
rendered), and offers Allow once / Always allow this tool / Deny. Closing it denies.

``GuiApprover`` is the ``approve`` callback the tool loop calls from its worker thread:
it hands the request to the GUI thread through the window's bridge, shows the dialog
there, and blocks the worker until the user answers (or the window goes away: then the
call is denied).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, QThread
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from chatdesk.services.tools import Approval, ApprovalRequest
from chatdesk.ui.bridge import EventBridge
from chatdesk.ui.modal import run_modal

WAIT_SECONDS = 3600.0  # a dialog left open this long counts as a denial


class ToolApprovalDialog(QDialog):
    """One approval question; ``answer`` holds the choice after ``exec``."""

    def __init__(self, request: ApprovalRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Allow this tool call?")
        self.answer = Approval.DENY
        column = QVBoxLayout(self)
        where = (
            "built into ChatDesk"
            if request.source == "built-in"
            else (f"from the MCP server “{request.source}”")
        )
        self.summary = QLabel(f"The model wants to run the tool “{request.tool}” ({where}).")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.arguments = QPlainTextEdit(request.arguments_json(), self)
        self.arguments.setReadOnly(True)
        self.arguments.setAccessibleName("Tool arguments")
        self.arguments.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        column.addWidget(self.summary)
        column.addWidget(QLabel("With these arguments:", self))
        column.addWidget(self.arguments, 1)
        self.buttons: dict[Approval, QPushButton] = {}
        for answer, text in ((Approval.ONCE, "Allow once"),
                             (Approval.ALWAYS, "Always allow this tool"),
                             (Approval.DENY, "Deny")):  # fmt: skip
            button = QPushButton(text, self)
            button.clicked.connect(lambda _c=False, a=answer: self._choose(a))
            column.addWidget(button)
            self.buttons[answer] = button
        self.buttons[Approval.DENY].setDefault(True)
        self.resize(520, 360)

    def _choose(self, answer: Approval) -> None:
        self.answer = answer
        if answer is Approval.DENY:
            self.reject()
        else:
            self.accept()


class GuiApprover:
    """Callable approver for worker threads; shows ``ToolApprovalDialog`` on the GUI thread."""

    def __init__(self, parent: QWidget, bridge: EventBridge | None = None) -> None:
        self._parent = parent
        self.bridge = bridge or EventBridge(parent)

    def __call__(self, request: ApprovalRequest) -> Approval:
        if QThread.currentThread() is self._parent.thread():
            return self._ask(request)
        pending = _Pending(request)
        self.bridge.dispatch(lambda: self._show(pending))
        if not pending.done.wait(WAIT_SECONDS):
            return Approval.DENY
        return pending.answer

    def _show(self, pending: _Pending) -> None:
        try:
            pending.answer = self._ask(pending.request)
        finally:
            pending.done.set()

    def _ask(self, request: ApprovalRequest) -> Approval:
        dialog = ToolApprovalDialog(request, self._parent)
        run_modal(dialog)
        return dialog.answer


class _Pending:
    def __init__(self, request: ApprovalRequest) -> None:
        self.request = request
        self.answer = Approval.DENY
        self.done = threading.Event()
