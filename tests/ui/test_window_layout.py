"""The window's layout (issue 27, items 2 and 4): icon buttons with their shortcuts, the
sidebar that folds away, the searchable model picker, the empty chat's example prompts, the
top bar's context meter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton
from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.welcome import EXAMPLE_PROMPTS
from tests.support.scripted_engine import ScriptedEngine
from tests.ui.conftest import wait_for_reply

MakeWindow = Callable[..., MainWindow]


def test_every_action_button_has_an_icon_and_a_tooltip(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    buttons: list[QAbstractButton] = [
        *window.top.findChildren(QAbstractButton),
        window.sidebar.new_button,
        window.composer.send_button,
        window.composer.tools_button,
    ]
    for button in buttons:
        assert not button.icon().isNull(), button.accessibleName()
        assert button.accessibleName(), button
        assert button.toolTip(), button.accessibleName()
    assert window.top.settings_button.toolTip() == "Settings (Ctrl+,)"
    assert window.composer.send_button.toolTip() == "Send message (Enter)"
    assert window.toolbar.actions() == [window.toolbar.actions()[0]]  # one bar, no text buttons


def test_the_sidebar_folds_away_and_stays_so(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    qtbot.keyClick(window.composer.text, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert window.sidebar.isHidden()
    assert not window.top.sidebar_button.isChecked()
    window.close()
    again = make_window(ScriptedEngine)
    assert again.sidebar.isHidden()  # restored as it was left
    qtbot.mouseClick(again.top.sidebar_button, Qt.MouseButton.LeftButton)
    assert again.sidebar.isVisible()
    again.settings_panel.hide()  # the panel buttons follow their panels
    again.top.settings_button.click()
    assert again.dock.isVisible()
    again.dock.close()
    assert not again.top.settings_button.isChecked()


def test_the_picker_shows_size_quantisation_fit_and_searches(
    qtbot: QtBot, make_window: MakeWindow, fake_gguf: Path, tmp_path: Path
) -> None:
    other = tmp_path / "Other-Model-Q8_0.gguf"
    other.write_bytes(fake_gguf.read_bytes())
    window = make_window(ScriptedEngine)
    window.load_model(str(fake_gguf))
    qtbot.waitUntil(lambda: window.services.engine.ready)
    window.load_model(str(other))
    qtbot.waitUntil(lambda: window.services.engine.status.path == str(other))
    picker = window.picker
    qtbot.waitUntil(lambda: min(picker.findData(str(other)), picker.findData(str(fake_gguf))) >= 0)
    entry = picker.itemText(picker.findData(str(other)))
    assert entry.startswith("Other-Model-Q8_0.gguf · ")
    assert "64 B · Q8_0" in entry  # its size, then the quantisation from the name
    assert picker.currentIndex() == picker.findData(str(other))  # the loaded one is shown,
    assert entry.startswith(picker.lineEdit().text().removesuffix("…"))  # shortened to fit
    completer = picker.completer()
    completer.setCompletionPrefix("scripted")
    model = completer.completionModel()
    found = [model.index(row, 0).data() for row in range(completer.completionCount())]
    assert len(found) == 1
    assert found[0].startswith("scripted-model.gguf")


def test_an_example_prompt_on_the_empty_chat_is_sent(
    qtbot: QtBot, ready_window: MainWindow
) -> None:
    window = ready_window
    window.new_chat()
    assert window.pages.currentWidget() is window.empty_chat
    assert "scripted-model" in window.empty_chat.title.text()  # which model will answer
    button = window.empty_chat.examples[0]
    assert button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_for_reply(qtbot, window)
    messages = window.chat.messages(window.conversation_id)
    assert messages[0].content == EXAMPLE_PROMPTS[0]
    assert messages[-1].role == "assistant"
    assert messages[-1].content
    assert window.pages.currentWidget() is window.chat_view
    assert window.composer.text.toPlainText() == ""  # sent, so the composer is empty again
