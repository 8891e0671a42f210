"""Show prompt: the exact text the model receives (its chat template applied) and its size."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

POLL_MS = 30


class PromptViewer(QDialog):
    """A read-only view of a rendered prompt, filled in when the engine answers."""

    def __init__(self, future: Future[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Prompt sent to the model")
        self.resize(760, 560)
        column = QVBoxLayout(self)
        self.summary = QLabel("Rendering the prompt with the model's chat template...", self)
        self.summary.setAccessibleName("Prompt size")
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Prompt text")
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        column.addWidget(self.summary)
        column.addWidget(self.text, 1)
        column.addWidget(buttons)
        self._future = future
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()
        self._poll()

    def _poll(self) -> None:
        if not self._future.done():
            return
        self._timer.stop()
        error = self._future.exception()
        if error is not None:
            self.summary.setText(f"Could not render the prompt: {error}")
            return
        text, n_tokens = self._future.result()
        self.text.setPlainText(text)
        self.summary.setText(f"{n_tokens} tokens · {len(text)} characters")
