"""The window with the real starter model: a user asks a question and exports the chat."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.engine.client import EngineClient
from chatdesk.services.engine_session import ModelState
from chatdesk.ui.main_window import MainWindow
from tests.ui.conftest import wait_for_model, wait_for_reply

pytestmark = pytest.mark.slow
MakeWindow = Callable[..., MainWindow]


def test_the_real_model_answers_in_the_window_and_the_export_reads_like_the_chat(
    qtbot: QtBot, make_window: MakeWindow, starter_model_path: Path, tmp_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    window = make_window(EngineClient)
    window.load_model(str(starter_model_path))
    wait_for_model(qtbot, window, timeout=120_000)
    assert window.services.engine.status.state is ModelState.READY, window.notice.label.text()
    panel = window.settings_panel.conversation
    panel.boxes["temperature"].setValue(0.0)
    panel.boxes["max_tokens"].setValue(32)
    window.composer.text.setPlainText("What is the capital of France?")
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
