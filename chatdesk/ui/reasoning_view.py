"""A reply's reasoning (its ``<think>`` / analysis text), shown collapsed above the answer.

The reasoning is parsed out of the reply while it streams (``chatdesk.tools.streaming``)
and stored with it (the message's ``extra["reasoning"]``); it is never part of the answer
and never sent back to the model. Here it is one collapsible "Reasoning" section (the
design system's section toggle), closed at first.
"""

from __future__ import annotations

from PySide6.QtWidgets import QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from chatdesk.ui.theme import section_toggle


class ReasoningView(QWidget):
    """A collapsed toggle with the reasoning text beneath it (hidden when there is none).

    Its toggle and text box are built on the first reasoning shown: most replies have none,
    and every message of a long chat carries one of these views."""

    toggle: QToolButton
    text: QPlainTextEdit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._built = False
        self.hide()

    def _build(self) -> None:
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.toggle = section_toggle("Reasoning", self)
        self.toggle.setAccessibleName("Reasoning")
        self.text = QPlainTextEdit(self)
        self.text.setProperty("look", "muted")
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Reasoning text")
        self.text.setMaximumHeight(240)
        self.text.setVisible(False)
        self.toggle.toggled.connect(self.text.setVisible)
        column.addWidget(self.toggle)
        column.addWidget(self.text)
        self._built = True

    def show_reasoning(self, reasoning: str) -> None:
        """Show ``reasoning`` (collapsed), or hide the whole view when it is empty."""
        if not reasoning.strip() and not self._built:
            return
        if not self._built:
            self._build()
        self.text.setPlainText(reasoning)
        words = len(reasoning.split())
        self.toggle.setText(f"Reasoning ({words} words)")
        self.setVisible(bool(reasoning.strip()))
