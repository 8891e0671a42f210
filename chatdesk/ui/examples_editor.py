"""A conversation's few-shot examples: collapsed under a header, editable when opened.

The header button reads "Examples (N)"; opening it shows one row per example exchange
(the user's message and the assistant's answer, each editable, and a remove button) and
an "Add example" button. Every edit emits ``examples_changed`` with the pairs as stored
(``{"user": ..., "assistant": ...}``); pairs with both texts empty are left out.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

EDITOR_HEIGHT = 54


class ExampleRow(QFrame):
    """One example exchange: two small editors and a remove button."""

    def __init__(self, user: str, assistant: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.user = self._editor(user, "Example: the user's message")
        self.assistant = self._editor(assistant, "Example: the assistant's answer")
        self.remove = QToolButton(self)
        self.remove.setText("✕")
        self.remove.setAccessibleName("Remove this example")
        self.remove.setToolTip("Remove this example")
        texts = QVBoxLayout()
        texts.addWidget(self.user)
        texts.addWidget(self.assistant)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(texts, 1)
        row.addWidget(self.remove)

    def _editor(self, text: str, placeholder: str) -> QPlainTextEdit:
        editor = QPlainTextEdit(text, self)
        editor.setPlaceholderText(placeholder)
        editor.setAccessibleName(placeholder)
        editor.setTabChangesFocus(True)  # Tab moves on (no keyboard trap)
        editor.setMaximumHeight(EDITOR_HEIGHT)
        return editor

    def pair(self) -> dict[str, str]:
        """The exchange as stored."""
        return {"user": self.user.toPlainText(), "assistant": self.assistant.toPlainText()}


class ExamplesEditor(QWidget):
    """Collapsible, editable list of example exchanges."""

    examples_changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[ExampleRow] = []
        self.header = QToolButton(self)
        self.header.setAccessibleName("Few-shot examples")
        self.header.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.header.setCheckable(True)
        self.header.setAutoRaise(True)
        self.header.toggled.connect(self._set_open)
        self.body = QWidget(self)
        self.list = QVBoxLayout()
        self.add_button = QPushButton("Add example", self.body)
        self.add_button.clicked.connect(lambda: self._add_row("", "", focus=True))
        body = QVBoxLayout(self.body)
        body.setContentsMargins(12, 0, 0, 0)
        body.addLayout(self.list)
        body.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        self._set_open(False)

    def set_examples(self, pairs: list[dict[str, str]]) -> None:
        """Show these pairs (collapsed state is kept); emits nothing."""
        for row in self.rows:
            row.deleteLater()
        self.rows = []
        self.blockSignals(True)
        for pair in pairs:
            self._add_row(pair.get("user", ""), pair.get("assistant", ""))
        self.blockSignals(False)
        self._update_header()

    def examples(self) -> list[dict[str, str]]:
        """The pairs as they are now, empty ones left out."""
        return [pair for pair in (row.pair() for row in self.rows) if any(pair.values())]

    def _add_row(self, user: str, assistant: str, focus: bool = False) -> None:
        row = ExampleRow(user, assistant, self.body)
        row.user.textChanged.connect(self._changed)
        row.assistant.textChanged.connect(self._changed)
        row.remove.clicked.connect(lambda: self._remove(row))
        self.list.addWidget(row)
        self.rows.append(row)
        if focus:
            row.user.setFocus()
        self._changed()

    def _remove(self, row: ExampleRow) -> None:
        self.rows.remove(row)
        row.deleteLater()
        self._changed()

    def _changed(self) -> None:
        self._update_header()
        self.examples_changed.emit(self.examples())

    def _update_header(self) -> None:
        arrow = "▾" if self.header.isChecked() else "▸"
        self.header.setText(f"{arrow} Examples ({len(self.examples())})")

    def _set_open(self, opened: bool) -> None:
        self.body.setVisible(opened)
        self._update_header()
