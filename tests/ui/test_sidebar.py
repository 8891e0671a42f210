"""The conversation list: day groups, search, inline rename, delete with undo, Ctrl+N."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.store import NotFoundError
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.sidebar import ID_ROLE, MESSAGE_ROLE, day_group
from tests.support.scripted_engine import ScriptedEngine

MakeWindow = Callable[..., MainWindow]


def item_texts(window: MainWindow) -> list[str]:
    """Every row of the sidebar list, headings included."""
    return [window.sidebar.list.item(row).text() for row in range(window.sidebar.list.count())]


def test_day_groups() -> None:
    today = dt.date(2026, 11, 23)
    assert day_group("2026-11-23T08:00:00.000000Z", today) in ("Today", "Yesterday")
    assert day_group("2026-11-21T12:00:00.000000Z", today) == "Previous 7 days"
    assert day_group("2026-11-01T12:00:00.000000Z", today) == "Older"
    assert day_group("2026-03-02T12:00:00.000000Z", today) == "Older"


def test_list_is_pinned_first_then_by_day(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    store = window.services.store
    older = store.create_conversation(title="Older chat")
    pinned = store.create_conversation(title="Pinned chat")
    store.set_pinned(pinned.id, True)
    store.create_conversation(title="Newest chat")
    window.refresh_sidebar()
    texts = item_texts(window)
    assert texts[:2] == ["Pinned", "Pinned chat"]
    assert texts[2] == "Today"
    assert texts.index("Newest chat") < texts.index(older.title)


def test_ctrl_n_starts_a_new_chat_once(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    store = window.services.store
    first = window.conversation_id
    store.append_message(first, "user", "something")
    window.open_conversation(first)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.conversation_id != first
    second = window.conversation_id
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.conversation_id == second  # an empty chat is reused, not multiplied
    assert store.count_conversations() == 2


def test_search_finds_message_and_opens_it(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    store = window.services.store
    target = store.create_conversation(title="Cooking")
    store.append_message(target.id, "user", "How long do I boil an artichoke?")
    other = store.create_conversation(title="Travel")
    store.append_message(other.id, "user", "Trains to Lyon")
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.sidebar.search.hasFocus()
    qtbot.keyClicks(window.sidebar.search, "artichoke")
    qtbot.waitUntil(lambda: any("artichoke" in t for t in item_texts(window)))
    assert not any("Travel" in t for t in item_texts(window))
    hit = next(
        window.sidebar.list.item(row)
        for row in range(window.sidebar.list.count())
        if window.sidebar.list.item(row).data(MESSAGE_ROLE)
    )
    window.sidebar.list.itemClicked.emit(hit)
    assert window.conversation_id == target.id
    assert window.chat_view.messages[0].content.startswith("How long")


def test_inline_rename(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    cid = window.conversation_id
    item = next(
        window.sidebar.list.item(row)
        for row in range(window.sidebar.list.count())
        if window.sidebar.list.item(row).data(ID_ROLE) == cid
    )
    assert item.flags() & Qt.ItemFlag.ItemIsEditable
    item.setText("Trip planning")  # what the inline editor does on Enter
    assert window.services.store.get_conversation(cid).title == "Trip planning"
    assert window.windowTitle() == "Trip planning"  # shown as "Trip planning — ChatDesk"


def test_delete_can_be_undone_then_becomes_final(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    store = window.services.store
    keep = store.create_conversation(title="Keep me")
    doomed = store.create_conversation(title="Delete me")
    window.refresh_sidebar()
    window.conversations.delete(doomed.id)
    assert "Delete me" not in item_texts(window)
    assert window.sidebar._undo.isVisible()
    window.conversations.undo_delete()
    assert "Delete me" in item_texts(window)
    assert store.get_conversation(doomed.id).title == "Delete me"
    window.conversations.delete(doomed.id)
    window.conversations.undo_timer.setInterval(10)
    window.conversations.undo_timer.start()
    qtbot.waitUntil(lambda: not window.sidebar._undo.isVisible())
    try:
        store.get_conversation(doomed.id)
        raise AssertionError("the conversation should be gone")
    except NotFoundError:
        pass
    assert store.get_conversation(keep.id).title == "Keep me"


def test_older_conversations_come_in_pages(qtbot: QtBot, make_window: MakeWindow) -> None:
    from chatdesk.ui.sidebar import MORE_ROLE, PAGE

    window = make_window(ScriptedEngine)
    store = window.services.store
    for index in range(PAGE + 5):
        store.create_conversation(title=f"chat {index}")
    window.refresh_sidebar()
    titled = [t for t in item_texts(window) if t.startswith("chat ")]
    assert len(titled) == PAGE
    last = window.sidebar.list.item(window.sidebar.list.count() - 1)
    assert last.data(MORE_ROLE)
    window.sidebar.list.itemClicked.emit(last)
    titled = [t for t in item_texts(window) if t.startswith("chat ")]
    assert len(titled) == PAGE + 5
    assert "chat 0" in titled
