"""Show prompt: the exact text the model receives (its chat template applied) and its size."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)


class PromptViewer(QDialog):
    """A read-only view of a rendered prompt, filled in when the engine answers.

    The window renders the prompt through ``Background.when_done``, which calls
    ``show_prompt`` or ``show_error`` on the GUI thread.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
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

    def show_prompt(self, result: tuple[str, int]) -> None:
        """The rendered prompt and its token count."""
        text, n_tokens = result
        self.text.setPlainText(text)
        self.summary.setText(f"{n_tokens} tokens · {len(text)} characters")

    def show_error(self, error: BaseException) -> None:
        """Why the prompt could not be rendered."""
        self.summary.setText(f"Could not render the prompt: {error}")
