"""A one-line message above the chat (load errors, a dead engine) with one action button."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from chatdesk.ui.theme import set_icon


class NoticeBar(QWidget):
    """Shows one notice at a time; the action button runs the notice's slot, then hides."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 6, 6)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Notice")
        self.action_button = QPushButton(self)
        self.close_button = QPushButton("Dismiss", self)
        self.close_button.setAccessibleName("Dismiss notice")
        set_icon(self.close_button, "close")
        self.close_button.clicked.connect(self.hide)
        row.addWidget(self.label, 1)
        row.addWidget(self.action_button)
        row.addWidget(self.close_button)
        self._action: Callable[[], object] | None = None
        self.action_button.clicked.connect(self._run_action)
        self.hide()

    def show_notice(
        self,
        text: str,
        action: str | None = None,
        slot: Callable[[], object] | None = None,
        details: str = "",
    ) -> None:
        """Show a message, optionally with a button that runs ``slot``; details as tool tip."""
        self.label.setText(text)
        self.label.setToolTip(details)
        self.action_button.setVisible(action is not None)
        self.action_button.setText(action or "")
        self.action_button.setAccessibleName(action or "")
        self._action = slot
        self.show()

    def _run_action(self) -> None:
        self.hide()
        if self._action is not None:
            self._action()
