"""Layout with the Settings panel open: messages reflow to the width they get, and in a small
window the panel gives way instead of squeezing the sidebar."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine

MakeWindow = Callable[..., MainWindow]
LONG_MODEL = "/home/someone/models/bartowski/Meta-Llama-3.1-8B-Instruct-Q4_K_M-imatrix.gguf"


def chat_with_two_replies(window: MainWindow) -> str:
    """A reply shown as "< 2/2 >" from a model with a long file name, with a table."""
    store = window.services.store
    chat = store.create_conversation("Layout")
    question = store.append_message(chat.id, "user", "Compare the capitals. " * 6)
    table = "| Country | Capital |\n|---|---|\n| France | Paris |\n\n" + "Some text. " * 40
    store.append_message(chat.id, "assistant", "first draft", model=LONG_MODEL)
    reply = store.append_message(
        chat.id, "assistant", table, parent_id=question.id, model=LONG_MODEL
    )
    stats = {"prompt_tokens": 81, "completion_tokens": 38, "tokens_per_second": 33.1}
    store.update_message(reply.id, stats={**stats, "time_to_first_token_ms": 21.0})
    return chat.id


@pytest.mark.parametrize("size", [(1180, 760), (800, 600)])
def test_messages_fit_the_chat_with_settings_open(
    qtbot: QtBot, make_window: MakeWindow, size: tuple[int, int]
) -> None:
    window = make_window(ScriptedEngine)
    window.resize(*size)
    window.dock.show()
    window.open_conversation(chat_with_two_replies(window))
    qtbot.waitUntil(lambda: window.width() == size[0])  # not held wider by a minimum size
    view = window.chat_view
    qtbot.waitUntil(lambda: view.widgets and view.widgets[-1].isVisible())
    qtbot.wait(50)
    viewport = view.viewport().width()
    assert view.widget().width() <= viewport  # nothing cut off on the right
    for widget in view.widgets:
        right = widget.mapTo(view.viewport(), widget.rect().topRight()).x()
        assert right <= viewport
        meter = widget.context_meter
        if meter.isVisible():
            assert meter.mapTo(view.viewport(), meter.rect().topRight()).x() <= viewport
    reply = view.widgets[-1]
    assert reply.position_label.text() == "2/2"
    assert reply.position_label.isVisible()
    assert "33.1 tok/s" in reply.status_label.text()  # the full text, even when shortened


def test_a_small_window_keeps_the_sidebar_usable(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    window.resize(800, 600)
    window.dock.show()
    window.open_conversation(chat_with_two_replies(window))
    qtbot.waitUntil(lambda: window.sidebar.width() >= 200)  # not squeezed to 80 px, once laid out
    assert window.dock.width() <= 0.3 * window.width() + 20  # the panel gave way
    assert window.chat_view.viewport().width() >= 260
    window.resize(1180, 760)
    qtbot.waitUntil(lambda: window.settings_panel.maximumWidth() >= 300)
