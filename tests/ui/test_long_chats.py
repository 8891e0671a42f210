"""Long chats: earlier messages load as you scroll up without moving what you read, and a
search hit deep inside a long chat opens there, highlighted, creating only nearby widgets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from chatdesk.ui.chat_view import BATCH, ChatView
from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine
from tests.ui.conftest import wait_for_model

MakeWindow = Callable[..., MainWindow]
MESSAGES = 500


@pytest.fixture
def window(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> MainWindow:
    made = make_window(lambda: scripted_engine)
    made.resize(1180, 760)
    made.load_model(str(fake_gguf))
    wait_for_model(qtbot, made)
    return made


def long_chat(window: MainWindow, count: int = MESSAGES) -> tuple[str, list[str]]:
    """A conversation of ``count`` messages of varied length; (its id, the message ids)."""
    store = window.services.store
    chat = store.create_conversation(title="Long chat")
    ids = []
    for index in range(count):
        role = "user" if index % 2 == 0 else "assistant"
        words = " ".join(f"word{index}x{k}" for k in range(5 + (index * 7) % 60))
        marker = " zanzibar" if index == 250 else ""
        ids.append(store.append_message(chat.id, role, f"m{index} {words}{marker}").id)
    return chat.id, ids


def first_visible(view: ChatView) -> tuple[str, int]:
    """The first message whose bottom is below the top edge, and its distance from the edge."""
    value = view.verticalScrollBar().value()
    widget = next(w for w in view.widgets if w.isVisible() and w.y() + w.height() > value)
    return widget.message.id, widget.y() - value


def offset_of(view: ChatView, message_id: str) -> int:
    """Where a message's widget is, relative to the top edge of the view."""
    widget = view.widget_for(message_id)
    assert widget is not None
    return widget.y() - view.verticalScrollBar().value()


def test_scrolling_up_loads_every_earlier_batch_and_keeps_the_reading_position(
    qtbot: QtBot, window: MainWindow
) -> None:
    cid, ids = long_chat(window, 200)
    window.open_conversation(cid)
    view = window.chat_view
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum() and bar.maximum() > 0)
    for _ in range(60):  # like wheel clicks towards the top, a screenful at a time
        if view.widgets[0].message.id == ids[0] and bar.value() == 0:
            break
        bar.setValue(max(0, bar.value() - view.viewport().height()))
        reading, where = first_visible(view)
        qtbot.wait(30)  # lets batches load and lay out
        assert offset_of(view, reading) == where  # what the reader saw did not move
    assert view.widgets[0].message.id == ids[0]
    assert len(view.widgets) == 200
    assert not view._earlier.isVisible()


def test_a_search_hit_opens_the_long_chat_at_that_message(qtbot: QtBot, window: MainWindow) -> None:
    cid, ids = long_chat(window)
    other = window.services.store.create_conversation(title="Other")
    window.services.store.append_message(other.id, "user", "hello")
    window.open_conversation(other.id)
    hits = window.services.store.search("zanzibar")
    assert [hit.message_id for hit in hits] == [ids[250]]
    window.open_conversation(cid, hits[0].message_id)
    view = window.chat_view
    assert len(view.widgets) <= BATCH + 1  # only the messages around the hit were built
    target = view.widget_for(ids[250])
    assert target is not None
    assert view.highlighted is target
    assert target.property("highlighted") is True  # the design's highlight border
    assert [w for w in view.widgets if w.property("highlighted")] == [target]

    def hit_in_view() -> bool:
        top = view.verticalScrollBar().value()
        return top <= target.y() and target.y() + 40 <= top + view.viewport().height()

    qtbot.waitUntil(hit_in_view, timeout=2000)
    assert view._earlier.isVisible()
    assert view._later.isVisible()  # later messages load as you scroll down (or on click)


def test_scrolling_down_from_a_hit_reaches_the_end_and_sending_returns_to_the_bottom(
    qtbot: QtBot, window: MainWindow
) -> None:
    cid, ids = long_chat(window, 120)
    window.open_conversation(cid, ids[40])
    view = window.chat_view
    bar = view.verticalScrollBar()
    for _ in range(40):
        if view.widgets[-1].message.id == ids[-1]:
            break
        bar.setValue(bar.maximum())
        qtbot.wait(30)
    assert view.widgets[-1].message.id == ids[-1]
    assert not view._later.isVisible()
