"""The window with token probabilities and few-shot examples, on the real starter model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from chatdesk.engine.client import EngineClient
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.probability_chart import ROW_HEIGHT
from chatdesk.ui.token_actions import TokenPanel
from tests.ui.conftest import wait_for_model, wait_for_reply

pytestmark = pytest.mark.slow
MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def starter_window(qtbot: QtBot, make_window: MakeWindow, starter_model_path: Path) -> MainWindow:
    pytest.importorskip("llama_cpp")
    window = make_window(EngineClient)
    window.load_model(str(starter_model_path))
    wait_for_model(qtbot, window, timeout=120000)
    panel = window.settings_panel.conversation
    panel.boxes["temperature"].setValue(0.0)
    panel.boxes["max_tokens"].setValue(8)
    return window


def ask(qtbot: QtBot, window: MainWindow, text: str) -> None:
    window.composer.text.setPlainText(text)
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Return)
    wait_for_reply(qtbot, window)


def test_tokens_view_and_a_branch_from_an_alternative(
    qtbot: QtBot, starter_window: MainWindow
) -> None:
    window = starter_window
    assert window.tokens.keep_action is not None
    ask(qtbot, window, "Say hello.")
    first = window.chat.messages(window.conversation_id)[-1]
    widget = window.chat_view.widget_for(first.id)
    assert widget is not None
    assert not widget.tokens_button.isVisible()  # off when it was written: nothing to show
    window.tokens.keep_action.setChecked(True)
    ask(qtbot, window, "What is the capital of France? Answer in one word.")
    reply = window.chat.messages(window.conversation_id)[-1]
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    assert widget.tokens_button.isVisible()
    widget.tokens_button.click()
    panel = widget.token_view
    assert isinstance(panel, TokenPanel)
    assert not widget.body.isVisible()
    assert panel.view.text.toPlainText().strip() == reply.content
    panel.view.select(0)
    assert len(panel.view.chart.row_texts()) == 10
    panel.explore_button.click()
    assert panel.explorer is not None
    panel.explorer.close()
    with qtbot.waitSignal(window.bridge.turn_finished, timeout=120000):
        qtbot.mouseClick(
            panel.view.chart, Qt.MouseButton.LeftButton, pos=QPoint(30, ROW_HEIGHT * 3 // 2)
        )
    branch = window.chat.messages(window.conversation_id)[-1]
    assert branch.id != reply.id
    assert branch.parent_id == reply.parent_id
    assert window.chat.sibling_position(branch) == (2, 2)


def test_examples_in_the_settings_panel_and_from_a_preset(
    qtbot: QtBot, starter_window: MainWindow
) -> None:
    window = starter_window
    ask(qtbot, window, "Hello")
    cid = window.conversation_id
    assert cid is not None
    editor = window.tokens.examples
    assert editor.header.text() == "▸ Examples (0)"
    panel = window.settings_panel.conversation
    panel.presets.setCurrentText("Translate to French")
    panel.apply_preset_button.click()
    assert editor.header.text() == "▸ Examples (2)"
    assert len(window.services.conversations.get(cid).examples) == 2  # type: ignore[union-attr]
    editor.header.click()
    editor.rows[0].assistant.setPlainText("Il fait beau.")
    examples = window.services.probabilities.examples(cid)
    assert examples[0]["assistant"] == "Il fait beau."
    future = window.chat.render_prompt(cid)
    qtbot.waitUntil(future.done, timeout=60000)
    assert "Il fait beau." in future.result()[0]


def test_a_saved_preset_keeps_the_examples(qtbot: QtBot, starter_window: MainWindow) -> None:
    window = starter_window
    ask(qtbot, window, "Hello")
    window.tokens.examples.set_examples([{"user": "2+2?", "assistant": "4"}])
    window.settings_panel.conversation.save_preset("Sums")
    preset = window.services.settings.preset("Sums")
    assert preset.examples == ({"user": "2+2?", "assistant": "4"},)


def test_a_reply_without_probabilities_says_why_in_a_wrapped_note(
    qtbot: QtBot, ready_window: MainWindow
) -> None:
    """QA: the note ran off the reply's edge, and told the user to turn on a setting that
    was already on (a reply imported from JSON comes without probabilities)."""
    window = ready_window
    window.resize(700, 600)
    window.composer.text.setPlainText("Hello")
    window.composer.send_button.click()
    wait_for_reply(qtbot, window)
    reply = window.chat.messages(window.conversation_id)[-1]
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    assert window.tokens.keep_action is not None
    for keeping in (True, False):
        window.tokens.keep_action.setChecked(keeping)
        window.tokens.toggle_tokens(widget, True)
        note = widget.token_view
        assert isinstance(note, QLabel)
        assert ("Turn on View > Keep token probabilities" in note.text()) is not keeping
        qtbot.waitUntil(note.isVisible)
        assert note.wordWrap()
        assert note.mapTo(widget, note.rect().topRight()).x() < widget.width()
        window.tokens.toggle_tokens(widget, False)
