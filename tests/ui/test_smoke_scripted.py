"""Window behaviour with a scripted engine: streaming display, cancel, host death."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from tests.ui.conftest import wait_for_model, wait_for_reply
from tests.ui.scripted_engine import ScriptedEngine


def test_send_streams_reply_into_view_and_store(
    qtbot: QtBot, make_window: Callable[..., MainWindow], scripted_engine: ScriptedEngine,
    fake_gguf: Path,
) -> None:
    window = make_window(lambda: scripted_engine)
    window.load_model(str(fake_gguf))
    wait_for_model(qtbot, window)
    window.composer.text.setPlainText("Show me code")
    window.composer.send_button.click()
    wait_for_reply(qtbot, window)
    messages = window.chat.messages(window.conversation_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].status == "complete"
    assert "def greet" in messages[1].content
    widget = window.chat_view.widget_for(messages[1].id)
    assert widget is not None
    assert "def greet" in widget.body.toPlainText()
    assert widget.body.code_blocks
