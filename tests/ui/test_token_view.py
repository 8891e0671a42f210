"""The token view (tinted tokens, legend, alternatives chart) and the temperature explorer."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor
from pytestqt.qtbot import QtBot

from chatdesk.engine.types import Alternative, TokenChoice
from chatdesk.probabilities.reshape import Shaping, reshape
from chatdesk.ui.probability_chart import ROW_HEIGHT
from chatdesk.ui.temperature_explorer import TemperatureExplorer
from chatdesk.ui.token_view import TokenView

PARIS = TokenChoice(
    3,
    " Paris",
    0.94,
    1.0,
    (Alternative(3, " Paris", 0.94), Alternative(4, " L", 0.02), Alternative(5, " C", 0.004)),
    (Alternative(3, " Paris", 1.0),),
)
CHOICES = [
    TokenChoice(1, "The", 0.18, 0.3, (Alternative(1, "The", 0.18), Alternative(2, "La", 0.17))),
    TokenChoice(6, " capital", 0.6, 0.7, (Alternative(6, " capital", 0.6),)),
    TokenChoice(7, " is", 0.3, 0.4, (Alternative(7, " is", 0.3),)),
    PARIS,
]


def format_at(view: TokenView, index: int) -> QTextCharFormat:
    cursor = QTextCursor(view.text.document())
    cursor.setPosition(view.text.starts[index] + 1)
    return cursor.charFormat()


def point_of(view: TokenView, index: int) -> QPoint:
    cursor = QTextCursor(view.text.document())
    cursor.setPosition(view.text.starts[index] + 1)
    return view.text.cursorRect(cursor).center()


@pytest.fixture
def view(qtbot: QtBot) -> TokenView:
    widget = TokenView()
    qtbot.addWidget(widget)
    widget.resize(700, 300)
    widget.set_choices(CHOICES)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_tokens_are_tinted_and_underlined_by_band(view: TokenView) -> None:
    assert view.text.toPlainText() == "The capital is Paris"
    styles = [format_at(view, i).underlineStyle() for i in range(4)]
    unlikely, probable, uncertain, likely = styles
    assert likely == QTextCharFormat.UnderlineStyle.NoUnderline
    assert probable == QTextCharFormat.UnderlineStyle.DotLine
    assert uncertain == QTextCharFormat.UnderlineStyle.DashUnderline
    assert unlikely == QTextCharFormat.UnderlineStyle.WaveUnderline
    tints = {format_at(view, i).background().color().name() for i in range(4)}
    assert len(tints) == 4
    legend = view.legend.toPlainText()
    assert "likely (80% or more)" in legend
    assert "unlikely (under 20%)" in legend


def test_the_toggle_shows_plain_tokens(view: TokenView) -> None:
    view.set_tinted(False)
    assert format_at(view, 3).underlineStyle() == QTextCharFormat.UnderlineStyle.NoUnderline
    assert not view.legend.isVisible()
    view.set_tinted(True)
    assert view.legend.isVisible()


def test_clicking_a_token_charts_its_alternatives(qtbot: QtBot, view: TokenView) -> None:
    with qtbot.waitSignal(view.token_selected) as selected:
        qtbot.mouseClick(view.text.viewport(), Qt.MouseButton.LeftButton, pos=point_of(view, 3))
    assert selected.args == [3]
    assert view.chart.row_texts() == ["␣Paris 94.0%", "␣L 2.0%", "␣C 0.4%"]
    view.view_choice.setCurrentIndex(1)  # as the sampler saw them
    assert view.chart.row_texts() == ["␣Paris 100.0%"]


def test_clicking_an_alternative_asks_for_a_branch(qtbot: QtBot, view: TokenView) -> None:
    view.select(3)
    with qtbot.waitSignal(view.alternative_chosen) as chosen:
        qtbot.mouseClick(
            view.chart, Qt.MouseButton.LeftButton, pos=QPoint(40, ROW_HEIGHT + ROW_HEIGHT // 2)
        )
    assert chosen.args[0] == 3
    assert chosen.args[1] == Alternative(4, " L", 0.02)


def test_the_explorer_reshapes_live_as_sliders_move(qtbot: QtBot) -> None:
    explorer = TemperatureExplorer()
    qtbot.addWidget(explorer)
    explorer.set_choice(CHOICES[0])
    explorer.set_shaping(Shaping(temperature=1.0))
    assert explorer.chart.row_texts() == ["The 51.4%", "La 48.6%"]  # renormalised over two
    assert "Approximate" in explorer.note.text()
    explorer.sliders["temperature"].setValue(20)  # 0.2: the favourite pulls ahead
    expected = reshape(CHOICES[0].top, Shaping(temperature=0.2)).probabilities
    assert explorer.result is not None
    assert explorer.result.probabilities == pytest.approx(expected)
    assert explorer.result.probabilities[0] > 0.55
    explorer.sliders["top_k"].setValue(1)
    assert explorer.chart.row_texts() == ["The 100.0%", "La 0.0%"]
    assert "Exact" in explorer.note.text()
    assert explorer.values["top_k"].text() == "1"
    assert explorer.model_chart.row_texts() == ["The 18.0%", "La 17.0%"]


def test_the_explorer_starts_at_the_replys_top_k(qtbot: QtBot) -> None:
    """QA: Top-k stopped at 20 although replies use 40 by default."""
    explorer = TemperatureExplorer()
    qtbot.addWidget(explorer)
    explorer.set_choice(CHOICES[0])
    explorer.set_shaping(Shaping(top_k=40))
    assert explorer.values["top_k"].text() == "40"
    assert explorer.shaping().top_k == 40
    assert explorer.sliders["top_k"].maximum() >= 100
    explorer.set_shaping(Shaping(top_k=250))  # past the slider's usual end
    assert explorer.values["top_k"].text() == "250"


@pytest.mark.qt_log_ignore("This plugin does not support")  # the offscreen tooltip window
def test_hovering_a_token_lists_its_alternatives(qtbot: QtBot, view: TokenView) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    viewport = view.text.viewport()
    point = point_of(view, 3)
    event = QHelpEvent(QEvent.Type.ToolTip, point, viewport.mapToGlobal(point))
    QApplication.sendEvent(viewport, event)
    qtbot.waitUntil(QToolTip.isVisible)
    assert QToolTip.text().splitlines() == [
        "␣Paris: 94.0%",
        "  ␣Paris  94.0%",
        "  ␣L  2.0%",
        "  ␣C  0.4%",
    ]


def test_a_choice_the_penalties_changed_says_so(qtbot: QtBot) -> None:
    """Issue 24, item 2: at temperature 0 a chosen token sat below others with no word why."""
    pushed = TokenChoice(
        8, " Lyon", 0.30, 1.0,
        (Alternative(3, " Paris", 0.62), Alternative(8, " Lyon", 0.30)),
        (Alternative(8, " Lyon", 1.0),),
    )  # fmt: skip
    view = TokenView()
    qtbot.addWidget(view)
    view.set_choices([PARIS, pushed])
    view.select(0)
    assert view.changed_note.isHidden()  # the model's favourite: nothing to explain
    view.select(1)
    note = view.changed_note.text()
    assert "favourite was “ Paris” (62.0%)" in note
    assert "penalties or a grammar changed the choice" in note
    assert view.view_choice.currentIndex() == 1  # the distribution the choice came from
    assert view.chart.row_texts() == ["␣Lyon 100.0%"]
