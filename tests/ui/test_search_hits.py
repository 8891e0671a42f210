"""Sidebar search results highlight the matched words (and stay escaped text)."""

from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from chatdesk.store import Store
from chatdesk.ui.search_hits import HTML_ROLE, MARKS, MATCH_START, hit_html, install, plain_text


def test_matched_words_are_highlighted_and_the_rest_escaped(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        chat = store.create_conversation("Models <fast>")
        store.append_message(chat.id, "user", "Are <b>quantised</b> models really faster?")
        (hit,) = store.search("faster quant", highlight=MARKS)
    markup = hit_html(hit.title, hit.snippet)
    assert f"{MATCH_START}quantised</span>" in markup
    assert f"{MATCH_START}faster</span>" in markup
    assert "&lt;b&gt;" in markup  # the message's own tags are text
    assert "<b>Models &lt;fast&gt;</b>" in markup
    assert plain_text(hit.snippet) == "Are <b>quantised</b> models really faster?"


def test_the_delegate_paints_hits_taller_than_plain_rows(qtbot: QtBot) -> None:
    view = QListWidget()
    qtbot.addWidget(view)
    install(view)
    view.resize(260, 300)
    plain = QListWidgetItem("Today")
    hit = QListWidgetItem("")
    hit.setData(HTML_ROLE, hit_html("Trip", f"the {MARKS[0]}temples{MARKS[1]} of Kyoto"))
    view.addItem(plain)
    view.addItem(hit)
    view.show()
    qtbot.waitExposed(view)
    assert view.visualItemRect(hit).height() > view.visualItemRect(plain).height()
    image = view.viewport().grab().toImage()
    rect = view.visualItemRect(hit)
    colours = {
        image.pixelColor(x, y).name()
        for x in range(rect.left(), rect.right(), 2)
        for y in range(rect.top(), rect.bottom(), 2)
    }
    assert "#ffd54f" in colours  # the highlight is really painted


def test_hits_grow_taller_when_the_list_gets_narrower(qtbot: QtBot) -> None:
    """QA: after the window got narrower, hits kept their heights and overlapped."""
    view = QListWidget()
    qtbot.addWidget(view)
    delegate = install(view)
    view.resize(400, 600)
    for n in range(3):
        hit = QListWidgetItem("")
        words = "the temples of Kyoto and the gardens around them, " * 3
        hit.setData(HTML_ROLE, hit_html(f"Trip {n}", f"{MARKS[0]}temples{MARKS[1]} {words}"))
        view.addItem(hit)
    view.show()
    qtbot.waitExposed(view)
    wide = view.visualRect(view.model().index(0, 0)).height()
    view.resize(150, 600)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, view.viewport().width(), 0)
    indexes = [view.model().index(n, 0) for n in range(3)]
    wanted = [delegate.sizeHint(option, index).height() for index in indexes]
    assert wanted[0] > wide
    qtbot.waitUntil(lambda: [view.visualRect(i).height() for i in indexes] == wanted)
    rects = [view.visualRect(i) for i in indexes]
    assert all(above.bottom() < below.top() for above, below in itertools.pairwise(rects))
