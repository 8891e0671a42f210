"""A reply shown token by token, tinted by how probable each token was.

Each token gets its probability band's tint and, for readers who cannot tell the tints
apart, the band's underline style (none, dotted, dashed, wavy; see
``chatdesk.probabilities.bands``); a legend under the text explains both. Hovering a token
shows its alternatives with percentages as a tooltip; clicking it selects it: the chart
beside the text shows its alternatives as bars, as the model computed them or as the
sampler saw them (after penalties, top-k, top-p, min-p and temperature). Clicking an
alternative emits ``alternative_chosen(token index, alternative)``, which the window
turns into a new branch that continues from that token.
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QHelpEvent, QMouseEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from chatdesk.engine.types import Alternative, TokenChoice
from chatdesk.probabilities.bands import BANDS, band_of, percent
from chatdesk.probabilities.formats import changed_choice
from chatdesk.ui.probability_chart import ProbabilityChart, visible_token

TINTS = ("#c8e6c9", "#fff3b0", "#ffd6a5", "#ffadad")  # one per band, light enough for text
UNDERLINES = {
    "none": QTextCharFormat.UnderlineStyle.NoUnderline,
    "dotted": QTextCharFormat.UnderlineStyle.DotLine,
    "dashed": QTextCharFormat.UnderlineStyle.DashUnderline,
    "wavy": QTextCharFormat.UnderlineStyle.WaveUnderline,
}
VIEWS = ("As the model computed them", "As the sampler saw them")


def band_format(band: int) -> QTextCharFormat:
    """The character format of a probability band: tint plus underline style."""
    fmt = QTextCharFormat()
    fmt.setBackground(QColor(TINTS[band]))
    fmt.setForeground(QColor("#1a1a1a"))
    fmt.setUnderlineStyle(UNDERLINES[BANDS[band].underline])
    fmt.setFontWeight(700 if band == len(BANDS) - 1 else 400)
    return fmt


def tooltip_text(choice: TokenChoice) -> str:
    """A token's alternatives as plain text lines."""
    lines = [f"{visible_token(choice.text)}: {percent(choice.probability)}"]
    lines += [f"  {visible_token(a.text)}  {percent(a.probability)}" for a in choice.top]
    return "\n".join(lines)


class TokenText(QTextBrowser):
    """The tinted tokens; knows which token sits at each character position."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.starts: list[int] = []

    def show_tokens(self, choices: list[TokenChoice], tinted: bool) -> None:
        """Write the tokens, each in its band's format (plain when not ``tinted``)."""
        self.clear()
        self.starts = []
        cursor = QTextCursor(self.document())
        for choice in choices:
            self.starts.append(cursor.position())
            fmt = band_format(band_of(choice.probability)) if tinted else QTextCharFormat()
            cursor.insertText(choice.text, fmt)

    def token_at(self, point: QPoint) -> int | None:
        """The index of the token under a viewport position, or None."""
        if not self.starts:
            return None
        position = self.cursorForPosition(point).position()
        rect = self.cursorRect(self.cursorForPosition(point))
        if abs(rect.center().y() - point.y()) > rect.height():
            return None
        return max(0, bisect.bisect_right(self.starts, position) - 1)


class Legend(QTextBrowser):
    """One line naming each band, written in that band's own format."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(self.fontMetrics().height() * 2 + 8)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        cursor = QTextCursor(self.document())
        cursor.insertText("Probability: ", QTextCharFormat())
        for index, band in enumerate(BANDS):
            cursor.insertText(band.label, band_format(index))
            cursor.insertText("  ", QTextCharFormat())


class TokenView(QWidget):
    """A reply's tokens with their probabilities, and the selected token's alternatives."""

    token_selected = Signal(int)
    alternative_chosen = Signal(int, object)  # token index, Alternative

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choices: list[TokenChoice] = []
        self.selected: int | None = None
        self.text = TokenText(self)
        self.text.viewport().installEventFilter(self)
        self.legend = Legend(self)
        self.view_choice = QComboBox(self)
        self.view_choice.addItems(VIEWS)
        self.view_choice.currentIndexChanged.connect(lambda _i: self._show_alternatives())
        self.heading = QLabel("Click a token to see its alternatives.", self)
        self.heading.setWordWrap(True)
        self.changed_note = QLabel(self)
        self.changed_note.setObjectName("changedChoice")
        self.changed_note.setWordWrap(True)
        self.changed_note.hide()
        self.chart = ProbabilityChart(self)
        self.chart.row_clicked.connect(self._row_clicked)
        self._tinted = True
        self._layout()

    def _layout(self) -> None:
        side = QVBoxLayout()
        side.addWidget(self.heading)
        side.addWidget(self.changed_note)
        side.addWidget(self.view_choice)
        side.addWidget(self.chart)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.text, 3)
        row.addLayout(side, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.legend)

    def set_choices(self, choices: list[TokenChoice]) -> None:
        """Show a reply's tokens (from the store or a live stream)."""
        self.choices = list(choices)
        self.selected = None
        self.text.show_tokens(self.choices, self._tinted)
        self.chart.set_rows([])

    def set_tinted(self, tinted: bool) -> None:
        """Tint the tokens by probability, or show them plain."""
        self._tinted = tinted
        self.text.show_tokens(self.choices, tinted)
        self.legend.setVisible(tinted)

    def select(self, index: int) -> None:
        """Select a token: its alternatives go into the chart."""
        if not 0 <= index < len(self.choices):
            return
        self.selected = index
        note = changed_choice(self.choices[index])
        self.changed_note.setText(note)
        self.changed_note.setVisible(bool(note))
        if note:  # show the distribution the choice was made from
            self.view_choice.setCurrentIndex(1)
        self._show_alternatives()
        self.token_selected.emit(index)

    def shown_alternatives(self) -> tuple[Alternative, ...]:
        """The alternatives the chart shows for the selected token."""
        if self.selected is None:
            return ()
        choice = self.choices[self.selected]
        return choice.sampled_top if self.view_choice.currentIndex() == 1 else choice.top

    def _show_alternatives(self) -> None:
        if self.selected is None:
            return
        choice = self.choices[self.selected]
        alternatives = self.shown_alternatives()
        chosen = next((n for n, a in enumerate(alternatives) if a.token == choice.token), None)
        self.chart.set_rows([(a.text, a.probability) for a in alternatives], chosen)
        self.heading.setText(
            f"Token {self.selected + 1}: “{visible_token(choice.text)}” "
            f"({percent(choice.probability)}). Click an alternative to continue from it."
        )

    def _row_clicked(self, row: int) -> None:
        alternatives = self.shown_alternatives()
        if self.selected is not None and row < len(alternatives):
            self.alternative_chosen.emit(self.selected, alternatives[row])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.text.viewport():
            if event.type() == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
                index = self.text.token_at(event.position().toPoint())
                if index is not None:
                    self.select(index)
            elif event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
                index = self.text.token_at(event.pos())
                if index is None:
                    QToolTip.hideText()
                else:
                    QToolTip.showText(event.globalPos(), tooltip_text(self.choices[index]))
                return True
        return super().eventFilter(watched, event)
