"""A tool call and its result in the conversation: one collapsed section, expandable.

Collapsed, it reads "Tool calculator · 18446744073709551616" (the first line of the
output, shortened). Expanded, it shows the arguments as formatted JSON and the whole
output, both in read-only plain-text boxes: tool output is untrusted and never rendered
as Markdown or HTML.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from chatdesk.ui.theme import section_toggle

SUMMARY_CHARS = 80


def summary_line(name: str, output: str | None) -> str:
    """The collapsed text: tool name and the start of its output (or just the call)."""
    if output is None:
        return f"Tool call {name}"
    first = next((line.strip() for line in output.splitlines() if line.strip()), "(no output)")
    if len(first) > SUMMARY_CHARS:
        first = first[: SUMMARY_CHARS - 1] + "…"
    return f"Tool {name} · {first}"


def formatted_arguments(arguments: Any) -> str:
    """Arguments as indented JSON (a JSON string is decoded first)."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return arguments
    return json.dumps(arguments, indent=2, ensure_ascii=False, sort_keys=True)


def _plain_box(text: str, name: str, parent: QWidget) -> QPlainTextEdit:
    box = QPlainTextEdit(text, parent)
    box.setReadOnly(True)
    box.setAccessibleName(name)
    box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    box.setMaximumHeight(220)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # scrolls sideways, like code
    box.setProperty("look", "code")
    return box


def _caption(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setProperty("look", "small")
    return label


class ToolMessageWidget(QWidget):
    """A call (name, arguments) and/or its output, collapsed at first. An assistant message
    shows its calls (``output`` None: no output box); a tool message shows its result."""

    def __init__(self, call: dict[str, Any], output: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        function = call.get("function") or {}
        self.name = str(function.get("name") or "?")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.toggle = section_toggle("", self)
        self.toggle.setAccessibleName("Tool call")
        self.details = QWidget(self)
        inner = QVBoxLayout(self.details)
        inner.setContentsMargins(0, 0, 0, 0)
        self.arguments = _plain_box(
            formatted_arguments(function.get("arguments")), "Tool arguments", self.details
        )
        self.output = _plain_box(output or "", "Tool output", self.details)
        if "arguments" in function:
            inner.addWidget(_caption("Arguments", self.details))
            inner.addWidget(self.arguments)
        if output is not None:
            inner.addWidget(_caption("Output", self.details))
            inner.addWidget(self.output)
        self.arguments.setVisible("arguments" in function)
        self.output.setVisible(output is not None)
        self.details.setVisible(False)
        self.toggle.toggled.connect(self.details.setVisible)
        column.addWidget(self.toggle)
        column.addWidget(self.details)
        self.set_output(output)

    def set_output(self, output: str | None) -> None:
        """Show the result when it arrives."""
        self.output.setPlainText(output or "")
        self.toggle.setText(summary_line(self.name, output))

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()
