"""A small horizontal bar chart of token alternatives with their percentages.

Each row is one alternative: its text (whitespace made visible), a bar as long as its
probability, and the percentage. Clicking a row emits ``row_clicked(index)``; the row of
the token that was actually chosen is drawn in bold.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from chatdesk.probabilities.bands import percent

ROW_HEIGHT = 20
LABEL_WIDTH = 110
PERCENT_WIDTH = 56
VISIBLE_SPACE = {" ": "␣", "\n": "↵", "\t": "⇥"}


def visible_token(text: str) -> str:
    """A token's text with spaces, newlines and tabs shown as symbols."""
    return "".join(VISIBLE_SPACE.get(char, char) for char in text) or "∅"


class ProbabilityChart(QWidget):
    """Bars for (text, probability) rows, most probable first."""

    row_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, float]] = []
        self._chosen: int | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def set_rows(self, rows: list[tuple[str, float]], chosen: int | None = None) -> None:
        """Show these rows; ``chosen`` marks the row of the generated token."""
        self._rows = list(rows)
        self._chosen = chosen
        self.setAccessibleDescription("; ".join(self.row_texts()))
        self.updateGeometry()
        self.update()

    def row_texts(self) -> list[str]:
        """Each row as text, as a screen reader gets it: ``␣Paris 94.1%``."""
        return [f"{visible_token(text)} {percent(p)}" for text, p in self._rows]

    def sizeHint(self) -> QSize:
        return QSize(LABEL_WIDTH + PERCENT_WIDTH + 160, max(1, len(self._rows)) * ROW_HEIGHT)

    def row_at(self, y: float) -> int | None:
        """The row under a vertical position, or None."""
        index = int(y // ROW_HEIGHT)
        return index if 0 <= index < len(self._rows) else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.row_at(event.position().y())
        if index is not None and event.button() == Qt.MouseButton.LeftButton:
            self.row_clicked.emit(index)
        super().mousePressEvent(event)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        bar_width = max(10, self.width() - LABEL_WIDTH - PERCENT_WIDTH - 8)
        for index, (text, probability) in enumerate(self._rows):
            top = index * ROW_HEIGHT
            font = QFont(self.font())
            font.setBold(index == self._chosen)
            painter.setFont(font)
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
            label = QRectF(0, top, LABEL_WIDTH - 6, ROW_HEIGHT)
            align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
            elided = painter.fontMetrics().elidedText(
                visible_token(text), Qt.TextElideMode.ElideRight, LABEL_WIDTH - 6
            )
            painter.drawText(label, align, elided)
            bar = QRectF(LABEL_WIDTH, top + 4, max(1.0, bar_width * probability), ROW_HEIGHT - 8)
            painter.fillRect(bar, palette.color(QPalette.ColorRole.Highlight))
            number = QRectF(LABEL_WIDTH + bar_width + 4, top, PERCENT_WIDTH, ROW_HEIGHT)
            painter.drawText(number, Qt.AlignmentFlag.AlignVCenter, percent(probability))
        painter.end()
