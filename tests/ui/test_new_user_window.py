"""The main window as a new user meets it: loading, title, keyboard, crashes, search hits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from chatdesk.services.engine_session import ModelState
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.search_hits import HTML_ROLE, MATCH_START
from chatdesk.ui.sidebar import MESSAGE_ROLE
from tests.support.scripted_engine import ScriptedEngine
from tests.ui.conftest import wait_for_model

MakeWindow = Callable[..., MainWindow]


def ready(qtbot: QtBot, make_window: MakeWindow, model: Path, engine: object) -> MainWindow:
    window = make_window(lambda: engine)
    window.load_model(str(model))
    wait_for_model(qtbot, window, timeout=120_000)
    assert window.services.engine.status.state is ModelState.READY
    return window


@pytest.mark.slow
def test_a_failed_load_keeps_the_loaded_model_and_the_chat(
    qtbot: QtBot, starter_window: MainWindow, starter_model_path: Path, tmp_path: Path
) -> None:
    window = starter_window
    store = window.services.store
    chat = store.create_conversation(title="Keep me open")
    store.append_message(chat.id, "user", "Hello")
    window.open_conversation(chat.id)
    broken = tmp_path / "broken-download.gguf"
    broken.write_bytes(b"GGUF" + bytes(300))
    window.load_model(str(broken))
    qtbot.waitUntil(lambda: window.services.engine.status.load_error is not None, timeout=60_000)
    status = window.services.engine.status
    assert status.state is ModelState.READY
    assert status.path == str(starter_model_path)  # still loaded, in the host too:
    assert window.services.engine.engine.status().result(timeout=30)["model"]
    assert window.pages.currentWidget() is window.chat_view
    assert window.conversation_id == chat.id
    assert window.picker.selected_path() == str(starter_model_path)
    notice = window.notice.label.text()
    assert "Could not load broken-download.gguf" in notice
    assert "Still using SmolLM2-135M-Instruct.Q4_1" in notice


def test_unloading_clears_the_model_picker(
    qtbot: QtBot, make_window: MakeWindow, fake_gguf: Path
) -> None:
    window = ready(qtbot, make_window, fake_gguf, ScriptedEngine())
    assert window.picker.selected_path() == str(fake_gguf)
    window.unload_model()
    assert window.picker.selected_path() is None
    assert window.model_status.text() == "No model loaded"


def test_the_title_names_the_conversation_once(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    chat = window.services.store.create_conversation(title="Trip to Lyon")
    window.open_conversation(chat.id)
    assert window.windowTitle() == "Trip to Lyon"  # the system adds " — ChatDesk"


def test_delete_key_on_a_clicked_conversation_deletes_it(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    store = window.services.store
    store.create_conversation(title="Keep me")
    doomed = store.create_conversation(title="Delete me")
    window.refresh_sidebar()
    listing = window.sidebar.list
    item = next(
        listing.item(r) for r in range(listing.count()) if listing.item(r).text() == "Delete me"
    )
    qtbot.mouseClick(
        listing.viewport(), Qt.MouseButton.LeftButton, pos=listing.visualItemRect(item).center()
    )
    assert window.conversation_id == doomed.id
    assert listing.hasFocus()  # the click did not send the focus to the composer
    qtbot.keyClick(listing, Qt.Key.Key_Delete)
    assert window.conversations.pending_delete is not None
    assert window.conversations.pending_delete[0] == doomed.id
    assert window.sidebar._undo.isVisible()


def test_after_loading_from_the_welcome_page_the_composer_has_the_focus(
    qtbot: QtBot, make_window: MakeWindow, fake_gguf: Path
) -> None:
    window = make_window(ScriptedEngine)
    assert window.pages.currentWidget() is window.welcome
    window.welcome.file_button.setFocus()
    qtbot.waitUntil(window.welcome.file_button.hasFocus)
    window.load_model(str(fake_gguf))  # what Open GGUF file... does once a file is chosen
    wait_for_model(qtbot, window)
    qtbot.waitUntil(window.composer.text.hasFocus)
    assert window.pages.currentWidget() is window.empty_chat  # the model, example prompts


def test_after_a_crash_the_open_chat_comes_back(qtbot: QtBot, make_window: MakeWindow) -> None:
    first = make_window(ScriptedEngine)
    store = first.services.store
    older = store.create_conversation(title="The one I was reading")
    store.append_message(older.id, "user", "where was I")
    store.create_conversation(title="A newer one")
    first.open_conversation(older.id)
    # no closeEvent: the process died; a new one starts on the same data
    second = make_window(ScriptedEngine)
    assert second.conversation_id == older.id


def test_a_search_hit_is_highlighted_and_opens_its_message(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    store = window.services.store
    chat = store.create_conversation(title="Long")
    ids = [store.append_message(chat.id, "user", f"note {n} about trains").id for n in range(300)]
    store.update_message(ids[150], content="the ferry to Zanzibar leaves at 7")
    window.open_conversation(store.create_conversation(title="Other").id)
    qtbot.keyClicks(window.sidebar.search, "zanzibar")
    listing = window.sidebar.list
    qtbot.waitUntil(lambda: any(listing.item(r).data(MESSAGE_ROLE) for r in range(listing.count())))
    hit = next(
        listing.item(r) for r in range(listing.count()) if listing.item(r).data(MESSAGE_ROLE)
    )
    assert f"{MATCH_START}Zanzibar</span>" in hit.data(HTML_ROLE)
    qtbot.mouseClick(
        listing.viewport(), Qt.MouseButton.LeftButton, pos=listing.visualItemRect(hit).center()
    )
    view = window.chat_view
    assert window.conversation_id == chat.id
    assert view.highlighted is view.widget_for(ids[150])
    assert len(view.widgets) <= 21  # built around the hit only
    QApplication.processEvents()
