"""Views that used to go stale (issue 24, items 4-6 and 8): each shows what is true now."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.store import Store
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.message_widget import WRITING
from tests.support.scripted_engine import ScriptedEngine
from tests.ui.conftest import wait_for_reply

MakeWindow = Callable[..., MainWindow]


def send(qtbot: QtBot, window: MainWindow, text: str) -> None:
    window.composer.text.setPlainText(text)
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Return)


def test_the_first_message_names_the_window(qtbot: QtBot, ready_window: MainWindow) -> None:
    assert ready_window.windowTitle() == "New chat"
    send(qtbot, ready_window, "Plan a weekend in Kyoto")
    assert ready_window.windowTitle() == "Plan a weekend in Kyoto"
    wait_for_reply(qtbot, ready_window)


def test_a_turn_added_by_the_command_line_appears_in_the_open_chat(
    qtbot: QtBot, ready_window: MainWindow
) -> None:
    send(qtbot, ready_window, "First question")
    wait_for_reply(qtbot, ready_window)
    cid = ready_window.conversation_id
    assert cid is not None
    shown = len(ready_window.chat_view.messages)
    with Store() as other:  # another process's connection, as `chatdesk ask --conversation`
        other.append_message(cid, "user", "Asked from a terminal")
        other.append_message(cid, "assistant", "Answered in the terminal")
    qtbot.waitUntil(lambda: len(ready_window.chat_view.messages) == shown + 2, timeout=5000)
    last = ready_window.chat_view.messages[-1]
    assert last.content == "Answered in the terminal"


def test_continue_clears_the_old_stopped_line(
    qtbot: QtBot, ready_window: MainWindow, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.rate = 20.0
    send(qtbot, ready_window, "Write a long story")
    qtbot.waitUntil(lambda: bool(ready_window.turns.current and ready_window.turns.current.text))
    ready_window.stop()
    wait_for_reply(qtbot, ready_window)
    reply = ready_window.chat_view.last_reply()
    widget = ready_window.chat_view.widget_for(reply.id)
    assert widget is not None
    assert "stopped by you" in widget.status_label.full_text
    widget.continue_button.click()
    assert ready_window.turns.streaming
    assert widget.status_label.full_text == WRITING  # not the old "stopped by you"
    ready_window.stop()
    wait_for_reply(qtbot, ready_window)


def test_prompt_progress_gives_way_to_the_text(qtbot: QtBot, ready_window: MainWindow) -> None:
    send(qtbot, ready_window, "Hello")
    wait_for_reply(qtbot, ready_window)
    widget = ready_window.chat_view.widget_for(ready_window.chat_view.last_reply().id)
    assert widget is not None
    widget.show_prompt_progress(477, 477, 1.0)
    assert "477 of 477" in widget.status_label.full_text
    widget.show_streaming("The answer")
    assert widget.status_label.full_text == WRITING
