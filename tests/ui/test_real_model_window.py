"""The window with the real starter model: a user asks a question and exports the chat."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from tests.ui.conftest import wait_for_reply

pytestmark = pytest.mark.slow
MakeWindow = Callable[..., MainWindow]


def test_the_real_model_answers_in_the_window_and_the_export_reads_like_the_chat(
    qtbot: QtBot, starter_window: MainWindow, starter_model_path: Path, tmp_path: Path
) -> None:
    window = starter_window
    panel = window.settings_panel.conversation
    panel.boxes["temperature"].setValue(0.0)
    panel.boxes["max_tokens"].setValue(32)
    window.composer.text.setPlainText("What is the capital of France? Answer in one word.")
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Return)
    wait_for_reply(qtbot, window, timeout=120_000)
    _question, reply = window.chat.messages(window.conversation_id)
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    assert "Paris" in widget.body.toPlainText()
    exported = window.services.export.markdown(window.conversation_id, tmp_path / "chat.md")
    text = exported.read_text(encoding="utf-8")
    assert "Paris" in text.split("## Assistant", 1)[1]
    assert "```" not in text  # the reply reads as Markdown, not as a code block
    assert str(starter_model_path.parent) not in text  # no local folders in a shared file
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in text


def test_a_long_prompt_shows_its_progress_in_the_waiting_reply(
    qtbot: QtBot, starter_window: MainWindow
) -> None:
    window = starter_window
    window.settings_panel.conversation.boxes["max_tokens"].setValue(4)
    view = window.chat_view
    shown: list[str] = []
    original = view.show_prompt_progress

    def spy(message_id: str, evaluated: int, total: int, seconds_left: float | None) -> None:
        original(message_id, evaluated, total, seconds_left)
        widget = view.widget_for(message_id)
        assert widget is not None
        shown.append(widget.status_label.text())

    view.show_prompt_progress = spy  # type: ignore[method-assign]
    notes = " ".join(f"Note {n}: the meeting moved to room {n % 7}." for n in range(120))
    window.composer.text.setPlainText(notes + "\nWhich room is note 3 in?")
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Return)
    wait_for_reply(qtbot, window, timeout=120_000)
    assert shown
    assert shown[0].startswith("Reading the conversation: 0 of ")
    assert shown[-1].endswith(" s left")
