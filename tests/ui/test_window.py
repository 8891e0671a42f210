"""The main window with a scripted engine: layout, first run, streaming, stop, crash, branches."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QPushButton
from pytestqt.qtbot import QtBot

from chatdesk import paths
from chatdesk.services.engine_session import ModelState
from chatdesk.ui.chat_view import BATCH
from chatdesk.ui.main_window import MainWindow
from tests.support import scripted_engine as scripted
from tests.support.scripted_engine import ScriptedEngine
from tests.support.scripted_engine import model_info as scripted_info
from tests.ui.conftest import wait_for_model, wait_for_reply

MakeWindow = Callable[..., MainWindow]


def type_and_send(qtbot: QtBot, window: MainWindow, text: str) -> None:
    """Type into the composer and press Enter."""
    window.composer.text.setPlainText(text)
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Return)


def test_window_title_focus_and_welcome_page_without_model(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine
) -> None:
    window = make_window(lambda: scripted_engine)
    assert window.windowTitle() == "New chat"  # Qt adds " — ChatDesk" (the display name)
    window.activateWindow()
    qtbot.waitUntil(window.composer.text.hasFocus)
    assert window.pages.currentWidget() is window.welcome
    text = " ".join(label.text() for label in window.welcome.findChildren(QLabel)).lower()
    assert "open gguf file" in text
    assert "drag" in text
    assert "browse models" in text


def test_sending_without_a_model_explains_what_to_do(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine
) -> None:
    window = make_window(lambda: scripted_engine)
    type_and_send(qtbot, window, "hello")
    assert window.notice.isVisible()
    assert "model" in window.notice.label.text().lower()
    assert window.composer.text.toPlainText() == "hello"  # nothing typed is lost


def test_load_error_shows_the_engines_reason(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    bad = tmp_path / "not-a-model.gguf"
    bad.write_text("hello")
    window = make_window(lambda: scripted_engine)
    window.load_model(str(bad))
    wait_for_model(qtbot, window)
    assert window.services.engine.status.state is ModelState.FAILED
    assert "not a GGUF file" in window.notice.label.text()
    assert window.notice.isVisible()


def test_enter_sends_shift_enter_adds_a_line(qtbot: QtBot, ready_window: MainWindow) -> None:
    window = ready_window
    window.composer.text.setPlainText("first line")
    window.composer.text.moveCursor(window.composer.text.textCursor().MoveOperation.End)
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(window.composer.text, "second line")
    assert window.chat_view.messages == []
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Return)
    wait_for_reply(qtbot, window)
    messages = window.chat.messages(window.conversation_id)
    assert messages[0].content == "first line\nsecond line"
    assert messages[1].role == "assistant"
    assert messages[1].status == "complete"
    assert window.composer.text.toPlainText() == ""
    widget = window.chat_view.widget_for(messages[1].id)
    assert widget is not None
    assert "def greet" in widget.body.toPlainText()
    assert "tok/s" in widget.status_label.text()
    assert widget.context_meter.isVisible() or not widget.isVisible()


def test_escape_stops_the_reply_and_keeps_the_text(
    qtbot: QtBot, ready_window: MainWindow, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.tokens, scripted_engine.rate = 5000, 200.0
    window = ready_window
    type_and_send(qtbot, window, "write a lot")
    assert window.composer.stop_button.isVisible()
    qtbot.waitUntil(lambda: len(window.turns.current.text if window.turns.current else "") > 20)
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Escape)
    wait_for_reply(qtbot, window)
    reply = window.chat.messages(window.conversation_id)[-1]
    assert reply.status == "interrupted"
    assert reply.finish_reason == "cancelled"
    assert len(reply.content) > 20
    assert not window.composer.stop_button.isVisible()
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    assert "stopped by you" in widget.status_label.text()


def test_partial_reply_is_saved_while_streaming(
    qtbot: QtBot, ready_window: MainWindow, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.tokens, scripted_engine.rate = 5000, 200.0
    window = ready_window
    type_and_send(qtbot, window, "write a lot")
    reply_id = window.turns.current.message_id if window.turns.current else ""
    qtbot.waitUntil(lambda: len(window.services.store.get_message(reply_id).content) > 30)
    assert window.services.store.get_message(reply_id).status == "streaming"
    window.stop()
    wait_for_reply(qtbot, window)


def test_host_death_keeps_partial_reply_and_offers_reload(
    qtbot: QtBot, ready_window: MainWindow, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.tokens, scripted_engine.rate = 5000, 200.0
    window = ready_window
    type_and_send(qtbot, window, "write a lot")
    qtbot.waitUntil(lambda: len(window.turns.current.text if window.turns.current else "") > 20)
    scripted_engine.streams[-1].kill_host()
    wait_for_reply(qtbot, window)
    reply = window.chat.messages(window.conversation_id)[-1]
    assert reply.status == "interrupted"
    assert len(reply.content) > 20
    assert window.services.engine.status.state is ModelState.DIED
    assert window.notice.isVisible()
    assert window.notice.action_button.text() == "Reload model"
    window.notice.action_button.click()
    wait_for_model(qtbot, window)
    assert window.services.engine.ready


def test_regenerate_and_sibling_navigation(
    qtbot: QtBot, ready_window: MainWindow, scripted_engine: ScriptedEngine
) -> None:
    window = ready_window
    type_and_send(qtbot, window, "question")
    wait_for_reply(qtbot, window)
    first = window.chat.messages(window.conversation_id)[-1]
    scripted_engine.text = "A different answer. "
    widget = window.chat_view.widget_for(first.id)
    assert widget is not None
    widget.regenerate_button.click()
    wait_for_reply(qtbot, window)
    second = window.chat.messages(window.conversation_id)[-1]
    assert second.id != first.id
    assert second.parent_id == first.parent_id
    new_widget = window.chat_view.widget_for(second.id)
    assert new_widget is not None
    assert new_widget.position_label.text() == "2/2"
    assert new_widget.position_label.isVisible()
    new_widget.previous_button.click()
    shown = window.chat.messages(window.conversation_id)[-1]
    assert shown.id == first.id
    back = window.chat_view.widget_for(first.id)
    assert back is not None
    assert back.position_label.text() == "1/2"
    assert "def greet" in back.body.toPlainText()


def meter(window: MainWindow) -> str | None:
    """What the top bar's context meter says (None: hidden)."""
    shown = window.top.context_meter
    return shown.format() if shown.isVisibleTo(window) else None


def test_context_meter_follows_the_shown_version_and_the_loaded_model(
    qtbot: QtBot,
    ready_window: MainWindow,
    scripted_engine: ScriptedEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA: after a version switch or a model switch the top bar kept the old count."""
    window = ready_window
    type_and_send(qtbot, window, "question")
    wait_for_reply(qtbot, window)
    first = meter(window)
    scripted_engine.tokens = 7
    window.chat_view.widgets[-1].regenerate_button.click()
    wait_for_reply(qtbot, window)
    second = meter(window)
    assert first is not None
    assert second not in (None, first)
    window.chat_view.widgets[-1].previous_button.click()
    assert meter(window) == first
    monkeypatch.setattr(scripted, "model_info", lambda path, _n: scripted_info(path, 4096))
    window.reload_model()
    wait_for_model(qtbot, window)
    assert meter(window) == first.replace("/ 2048", "/ 4096")


def test_a_model_that_does_not_report_its_context_says_unknown(
    qtbot: QtBot,
    make_window: MakeWindow,
    fake_gguf: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """QA: llama-cpp-python's server reports no context length; the window said "context 0"."""
    monkeypatch.setattr(scripted, "model_info", lambda path, _n: scripted_info(path, 0))
    window = make_window(ScriptedEngine)
    with caplog.at_level("INFO", logger="chatdesk"):
        window.load_model(str(fake_gguf))
        wait_for_model(qtbot, window)
    assert "context unknown" in window.model_status.text()
    assert "context 0" not in window.model_status.text()
    assert "context unknown" in caplog.text
    type_and_send(qtbot, window, "question")
    wait_for_reply(qtbot, window)
    assert meter(window) is None


def test_edit_and_resend_makes_a_new_branch(qtbot: QtBot, ready_window: MainWindow) -> None:
    window = ready_window
    type_and_send(qtbot, window, "original question")
    wait_for_reply(qtbot, window)
    user = window.chat.messages(window.conversation_id)[0]
    widget = window.chat_view.widget_for(user.id)
    assert widget is not None
    widget.edit_button.click()
    assert widget.editor is not None
    editor = widget.editor.findChild(QPlainTextEdit)
    assert editor is not None
    assert editor.toPlainText() == "original question"
    editor.setPlainText("edited question")
    send = [b for b in widget.editor.findChildren(QPushButton) if b.text() == "Send"]
    send[0].click()
    wait_for_reply(qtbot, window)
    path = window.chat.messages(window.conversation_id)
    assert [m.content for m in path[:1]] == ["edited question"]
    assert len(window.services.store.siblings(path[0].id)) == 2
    assert window.services.store.get_message(user.id).content == "original question"
    edited = window.chat_view.widget_for(path[0].id)
    assert edited is not None
    assert edited.position_label.text() == "2/2"


def test_dropped_turns_are_reported_under_the_reply(
    qtbot: QtBot, ready_window: MainWindow, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.dropped = 3
    window = ready_window
    type_and_send(qtbot, window, "question")
    wait_for_reply(qtbot, window)
    reply = window.chat.messages(window.conversation_id)[-1]
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    assert widget.context_label.isVisible()
    assert "3 older messages were left out to fit the context" in widget.context_label.text()
    window.open_conversation(window.conversation_id)  # still said after re-opening
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    assert "left out" in widget.context_label.text()


def test_copy_last_reply_shortcut(qtbot: QtBot, ready_window: MainWindow) -> None:
    window = ready_window
    type_and_send(qtbot, window, "question")
    wait_for_reply(qtbot, window)
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(
        window,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert "def greet" in QGuiApplication.clipboard().text()


def test_long_conversation_creates_widgets_lazily(qtbot: QtBot, ready_window: MainWindow) -> None:
    window = ready_window
    store = window.services.store
    conversation = store.create_conversation(title="long")
    for index in range(120):
        store.append_message(
            conversation.id, "user" if index % 2 == 0 else "assistant", f"m{index}"
        )
    window.open_conversation(conversation.id)
    assert len(window.chat_view.messages) == 120
    assert len(window.chat_view.widgets) == BATCH
    assert window.chat_view.widgets[-1].message.content == "m119"
    window.chat_view.load_earlier()
    assert len(window.chat_view.widgets) == 2 * BATCH
    assert window.chat_view.widgets[0].message.content == f"m{120 - 2 * BATCH}"


def test_window_state_and_last_conversation_are_restored(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    window = make_window(lambda: scripted_engine)
    window.load_model(str(fake_gguf))
    wait_for_model(qtbot, window)
    first = window.conversation_id
    type_and_send(qtbot, window, "remember me")
    wait_for_reply(qtbot, window)
    window.new_chat()
    window.open_conversation(first)
    window.resize(1040, 690)
    window.dock.show()
    window.close()
    again = make_window(ScriptedEngine)
    assert again.conversation_id == first
    assert again.dock.isVisible()
    assert again.height() == 690  # (the offscreen screen is too narrow to check the width)
    qtbot.waitUntil(lambda: again.services.engine.status.path == str(fake_gguf))
    wait_for_model(qtbot, again)  # the last used model is selected and loaded
    assert again.picker.selected_path() == str(fake_gguf)


def test_picker_lists_library_models_and_open_file(
    qtbot: QtBot, make_window: MakeWindow, fake_gguf: Path
) -> None:
    library_model = paths.models_dir() / "someone" / "repo" / "library-model-Q4_K_M.gguf"
    library_model.parent.mkdir(parents=True)
    library_model.write_bytes(fake_gguf.read_bytes())
    window = make_window(ScriptedEngine)
    qtbot.waitUntil(lambda: window.picker.findData(str(library_model)) >= 0)
    labels = [window.picker.itemText(i) for i in range(window.picker.count())]
    entry = next(label for label in labels if label.startswith("library-model-Q4_K_M.gguf"))
    assert " · Q4_K_M" in entry  # the size, quantisation and fit follow the name
    assert labels[-1] == "Open GGUF file..."
    qtbot.waitUntil(lambda: window.services.engine.status.path == str(library_model))
    wait_for_model(qtbot, window)  # the only model is selected and loaded at start
    assert window.pages.currentWidget() is window.empty_chat  # the model's name, examples
    assert "library-model" in window.empty_chat.title.text()


def test_dropping_a_gguf_file_loads_it(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    window = make_window(lambda: scripted_engine)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(fake_gguf))])
    point = QPointF(window.rect().center())
    enter = QDragEnterEvent(
        point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    window.dropEvent(drop)
    wait_for_model(qtbot, window)
    assert window.services.engine.status.path == str(fake_gguf)
    assert window.services.engine.ready


def test_dragging_other_files_is_refused(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path
) -> None:
    window = make_window(ScriptedEngine)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    enter = QDragEnterEvent(
        QPointF(window.rect().center()), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    enter.ignore()
    window.dragEnterEvent(enter)
    assert not enter.isAccepted()


def test_ctrl_q_quits(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()


def test_models_menu_opens_the_model_manager(
    qtbot: QtBot, make_window: MakeWindow, fake_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatdesk.ui.models_dialog import ModelsDialog

    def choose(dialog: ModelsDialog) -> int:
        dialog.model_chosen.emit(str(fake_gguf))
        return 0

    monkeypatch.setattr(ModelsDialog, "exec", choose)
    window = make_window(ScriptedEngine)
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    wait_for_model(qtbot, window)
    assert window.services.engine.status.path == str(fake_gguf)


def test_reply_cut_off_by_a_crash_shows_as_interrupted(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    from chatdesk.store import Store

    with Store() as store:
        conversation = store.create_conversation(title="Crashed")
        store.append_message(conversation.id, "user", "hi")
        reply = store.append_message(conversation.id, "assistant", "partial te", status="streaming")
        store.set_setting("ui.last_conversation", conversation.id)
    window = make_window(ScriptedEngine)
    assert window.conversation_id == conversation.id
    shown = window.chat_view.widget_for(reply.id)
    assert shown is not None
    assert shown.message.status == "interrupted"
    assert "partial te" in shown.body.toPlainText()
    assert "interrupted" in shown.status_label.text()


def test_f2_renames_the_open_conversation(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    qtbot.keyClick(window, Qt.Key.Key_F2)
    editor = window.sidebar.list.findChild(QLineEdit)
    assert editor is not None
    editor.setText("Renamed by keyboard")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: (
            window.services.store.get_conversation(window.conversation_id).title
            == "Renamed by keyboard"
        )
    )


def test_ctrl_comma_toggles_the_settings_panel(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    assert not window.dock.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert window.dock.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert not window.dock.isVisible()


def test_controls_have_accessible_names(qtbot: QtBot, make_window: MakeWindow) -> None:
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit

    window = make_window(ScriptedEngine)
    window.dock.show()
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit)
    unnamed = [
        f"{type(w).__name__} {w.objectName() or getattr(w, 'text', lambda: '')()}"
        for kind in kinds
        for w in window.findChildren(kind)
        if w.isVisible() and not w.accessibleName() and not getattr(w, "text", lambda: "")()
    ]
    assert unnamed == []


def test_open_gguf_file_is_remembered_for_the_picker_and_library(
    qtbot: QtBot, make_window: MakeWindow, fake_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    from chatdesk.services.model_choices import scan_library

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a: (str(fake_gguf), ""))
    window = make_window(ScriptedEngine)
    window.files.open_gguf_file()
    wait_for_model(qtbot, window)
    assert window.services.engine.ready
    qtbot.waitUntil(lambda: str(fake_gguf) in scan_library())  # the hub's used-by-path list
    window.close()
    again = make_window(ScriptedEngine)
    assert again.picker.findData(str(fake_gguf)) >= 0


def test_chat_never_gets_wider_than_its_view(
    qtbot: QtBot, ready_window: MainWindow, scripted_engine: ScriptedEngine
) -> None:
    long_line = "x = [" + ", ".join(str(n) for n in range(200)) + "]"
    scripted_engine.text = f"Here:\n\n```python\n{long_line}\n```\n\nDone. "
    scripted_engine.tokens = 30
    window = ready_window
    type_and_send(qtbot, window, "long code please")
    wait_for_reply(qtbot, window)
    qtbot.wait(50)
    view = window.chat_view
    assert view.widget().width() <= view.viewport().width()
    reply = view.widgets[-1]
    bar = reply.body.horizontalScrollBar()  # the code line is not wrapped: it scrolls sideways
    assert bar.maximum() > 0
    assert reply.body.height() >= reply.body.document().size().height() + bar.sizeHint().height()


def test_engine_error_is_shown_under_the_reply(
    qtbot: QtBot, ready_window: MainWindow, scripted_engine: ScriptedEngine
) -> None:
    from chatdesk.engine.types import EngineError

    scripted_engine.failure = EngineError(
        "this message alone is 5000 tokens; the context holds 2048", "message_too_long"
    )
    window = ready_window
    type_and_send(qtbot, window, "x " * 5000)
    wait_for_reply(qtbot, window)
    reply = window.chat.messages(window.conversation_id)[-1]
    assert reply.status == "error"
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    assert widget.error_label.isVisible()
    assert "the context holds 2048" in widget.error_label.text()
    assert "the context holds 2048" in window.notice.label.text()
    assert window.services.engine.ready  # an ordinary error leaves the model loaded
    assert window.composer.text.hasFocus()
    window.open_conversation(window.conversation_id)  # the reason is kept
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    assert "the context holds 2048" in widget.error_label.text()


def test_copy_buttons_put_message_and_code_on_the_clipboard(
    qtbot: QtBot, ready_window: MainWindow
) -> None:
    window = ready_window
    type_and_send(qtbot, window, "question")
    wait_for_reply(qtbot, window)
    reply = window.chat_view.widgets[-1]
    QGuiApplication.clipboard().clear()
    reply.copy_button.click()
    assert QGuiApplication.clipboard().text() == reply.message.content
    reply.body.anchorClicked.emit(QUrl("copy-code:0"))
    assert QGuiApplication.clipboard().text() == (
        'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'
    )


def test_long_code_reply_ends_as_one_block(
    qtbot: QtBot, ready_window: MainWindow, scripted_engine: ScriptedEngine
) -> None:
    code = "".join(f"value_{n} = {n}\n" for n in range(60))
    scripted_engine.text = f"Code:\n\n```python\n{code}```\n\nEnd. "
    scripted_engine.tokens = len(re.findall(r"\s*\S+\s?", scripted_engine.text))
    window = ready_window
    type_and_send(qtbot, window, "long code")
    wait_for_reply(qtbot, window)
    body = window.chat_view.widgets[-1].body
    assert body.toPlainText().count("Copy code") == 1  # one block (two 30-line pieces)
    assert body.toHtml().count("<table") == 2
    assert body.code_blocks == (code,)
