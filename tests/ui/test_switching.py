"""Switching conversations as people expect (issue 24, item 14): keyboard shortcuts, one
draft per conversation (kept across a restart), Ctrl+N reusing an empty chat, and one
line per conversation in the sidebar."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.store import Store
from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine

MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def three_chats(chatdesk_home: Path) -> list[str]:
    ids = []
    with Store() as store:
        for title in ("Oldest", "Middle", "Newest"):
            chat = store.create_conversation(title=title)
            store.append_message(chat.id, "user", f"About {title}")
            ids.append(chat.id)
    return ids[::-1]  # the sidebar's order: newest first


def test_keyboard_switches_conversations_in_sidebar_order(
    qtbot: QtBot, make_window: MakeWindow, three_chats: list[str]
) -> None:
    window = make_window(ScriptedEngine)
    window.open_conversation(three_chats[0])
    for key, modifier, expected in (
        (Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier, three_chats[1]),
        (Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier, three_chats[2]),
        (Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier, three_chats[0]),  # wraps
        (Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier, three_chats[2]),
        (Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier, three_chats[1]),
    ):
        qtbot.keyClick(window.composer.text, key, modifier)
        assert window.conversation_id == expected


def test_each_conversation_keeps_its_own_draft_across_a_restart(
    qtbot: QtBot, make_window: MakeWindow, three_chats: list[str]
) -> None:
    window = make_window(ScriptedEngine)
    window.open_conversation(three_chats[0])
    window.composer.text.setPlainText("half a thought")
    window.open_conversation(three_chats[1])
    assert window.composer.text.toPlainText() == ""  # the draft stayed behind
    window.open_conversation(three_chats[0])
    assert window.composer.text.toPlainText() == "half a thought"
    window.close()
    again = make_window(ScriptedEngine)
    again.open_conversation(three_chats[1])
    again.open_conversation(three_chats[0])
    assert again.composer.text.toPlainText() == "half a thought"


def test_new_chat_reuses_an_empty_one(
    qtbot: QtBot, make_window: MakeWindow, three_chats: list[str]
) -> None:
    window = make_window(ScriptedEngine)
    window.new_chat()
    empty = window.conversation_id
    window.open_conversation(three_chats[0])
    window.new_chat()  # Ctrl+N again: the empty "New chat" is opened, not a second one
    assert window.conversation_id == empty
    titles = [c.title for c in window.services.conversations.page(10)]
    assert titles.count("New chat") == 1


def test_sidebar_titles_take_one_line(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    assert not window.sidebar.list.wordWrap()
    assert window.sidebar.list.textElideMode() == Qt.TextElideMode.ElideRight


def test_tools_switch_sits_by_the_composer(qtbot: QtBot, make_window: MakeWindow) -> None:
    """Issue 24, item 15: tools were only under Models > Tools..., with no indicator."""
    window = make_window(ScriptedEngine)
    toggle = window.composer.tools_button
    assert toggle.isVisibleTo(window)
    assert not toggle.isChecked()
    toggle.click()
    assert window.services.tools.offered_in_chat()
    assert toggle.text() == "Tools on"
    assert window.tools.extras() is not None  # the next turn offers the tools


def test_without_a_model_the_conversations_own_model_is_offered(
    qtbot: QtBot, make_window: MakeWindow, fake_gguf: Path
) -> None:
    with Store() as store:
        chat = store.create_conversation(title="Old chat", model=str(fake_gguf))
        store.append_message(chat.id, "user", "Hello")
    window = make_window(ScriptedEngine)
    window.open_conversation(chat.id)
    window.send("Hello again")
    assert "written with scripted-model.gguf" in window.notice.label.text()
    assert window.notice.action_button.text() == "Load it"
