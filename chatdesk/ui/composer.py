"""Where the user types: Enter sends, Shift+Enter starts a new line, Stop/Esc cancel a reply.

Send, Stop and the Tools switch are icon buttons (``icon_buttons``) whose tooltips name
their keys; the box and the buttons are in the window's Tab order.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QWidget

from chatdesk.ui.icon_buttons import icon_button

MAX_LINES_VISIBLE = 8


class PromptEdit(QPlainTextEdit):
    """A text box that sends on Enter and grows with its content up to a few lines."""

    submit = Signal()
    escape = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerText")
        self.setAccessibleName("Message")
        self.setPlaceholderText("Message (Enter to send)")  # fits a narrow window
        self.setToolTip("Enter sends; Shift+Enter starts a new line")
        self.setTabChangesFocus(True)
        self.document().contentsChanged.connect(self._fit_height)
        self._fit_height()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter submits; Shift+Enter (or Ctrl+Enter) inserts a line break; Esc cancels."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            modifiers = event.modifiers()
            if modifiers & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            elif not modifiers & Qt.KeyboardModifier.ControlModifier:
                self.submit.emit()
            else:
                self.insertPlainText("\n")
            return
        if event.key() == Qt.Key.Key_Escape:
            self.escape.emit()
            return
        super().keyPressEvent(event)

    def _fit_height(self) -> None:
        line = self.fontMetrics().lineSpacing()
        lines = min(max(self.document().blockCount(), 2), MAX_LINES_VISIBLE)
        self.setFixedHeight(lines * line + 16)


class Composer(QWidget):
    """The text box with its Send / Stop button."""

    send = Signal(str)
    stop = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 8, 16, 12)
        self.text = PromptEdit(self)
        self.send_button = icon_button(self, "send", "Send message", "Enter")
        self.send_button.setObjectName("sendButton")
        self.stop_button = icon_button(self, "stop", "Stop the reply", "Esc")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.hide()
        self.tools_button = icon_button(
            self, "tools", "Offer tools to the model", checkable=True, text="Tools"
        )
        self.tools_button.setObjectName("toolsToggle")
        row.addWidget(self.text, 1)
        row.addWidget(self.tools_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.text.submit.connect(self._submit)
        self.text.escape.connect(self.stop)
        self.send_button.clicked.connect(self._submit)
        self.stop_button.clicked.connect(self.stop)

    def set_streaming(self, streaming: bool) -> None:
        """Swap Send for Stop while a reply is being written."""
        self.send_button.setVisible(not streaming)
        self.stop_button.setVisible(streaming)

    def _submit(self) -> None:
        text = self.text.toPlainText()
        if not text.strip() or self.stop_button.isVisible():
            return
        self.send.emit(text)

    def clear(self) -> None:
        """Empty the box after a message went out."""
        self.text.clear()

    def focus(self) -> None:
        """Put the keyboard focus in the text box."""
        self.text.setFocus(Qt.FocusReason.OtherFocusReason)
