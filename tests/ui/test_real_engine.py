"""The window driving the real engine host on a generated GGUF model (llama.cpp for real)."""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import SamplingSettings
from chatdesk.services import turns as chat_module
from chatdesk.services.engine_session import ModelState
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.prompt_viewer import PromptViewer
from tests.support.gguf_factory import write_not_gguf, write_truncated
from tests.ui.conftest import wait_for_model, wait_for_reply

pytestmark = pytest.mark.slow

MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def endless_replies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replies that only stop at max tokens (the random test model may end any time)."""
    original = chat_module.to_sampling

    def sampling(settings: dict[str, float | int]) -> SamplingSettings:
        return dataclasses.replace(original(settings), ignore_eos=True)

    monkeypatch.setattr(chat_module, "to_sampling", sampling)


@pytest.fixture
def real_window(
    qtbot: QtBot, make_window: MakeWindow, tiny_model_path: Path
) -> Iterator[MainWindow]:
    """A window whose engine host has loaded the tiny test model."""
    window = make_window(EngineClient)
    window.load_model(str(tiny_model_path))
    assert window._busy_action.isVisible()  # a busy indicator while the host loads
    assert not window.picker.isEnabled()
    assert window.model_status.text().startswith("Loading")
    wait_for_model(qtbot, window, timeout=60000)
    assert window.services.engine.status.state is ModelState.READY, window.notice.label.text()
    return window


def send(qtbot: QtBot, window: MainWindow, text: str) -> None:
    window.composer.text.setPlainText(text)
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Return)


def test_streamed_reply_is_shown_and_stored(qtbot: QtBot, real_window: MainWindow) -> None:
    window = real_window
    window.settings_panel.conversation.boxes["max_tokens"].setValue(24)
    window.settings_panel.conversation.boxes["seed"].setValue(7)
    send(qtbot, window, "Hello there")
    wait_for_reply(qtbot, window)
    user, reply = window.chat.messages(window.conversation_id)
    assert user.content == "Hello there"
    assert reply.status == "complete"
    assert reply.content
    assert reply.completion_tokens
    assert reply.completion_tokens <= 24
    assert reply.tokens_per_second
    assert reply.tokens_per_second > 0
    assert reply.model == str(window.services.engine.status.path)
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    shown = " ".join(widget.body.toPlainText().split())
    assert shown[:10] == " ".join(reply.content.split())[:10]  # rendered as Markdown
    assert "tok/s" in widget.status_label.text()
    assert widget.context_meter.isVisible()
    assert widget.context_meter.maximum() == window.services.engine.status.info.n_ctx


def test_show_prompt_is_the_chat_template_output(qtbot: QtBot, real_window: MainWindow) -> None:
    window = real_window
    window.settings_panel.conversation.system_prompt.setPlainText("Be brief.")
    window.settings_panel.conversation.boxes["max_tokens"].setValue(4)
    send(qtbot, window, "What is 2+2?")
    wait_for_reply(qtbot, window)
    viewer = PromptViewer(window)
    qtbot.addWidget(viewer)
    future = window.chat.render_prompt(window.conversation_id)
    window.background.when_done(future, viewer.show_prompt, viewer.show_error)
    qtbot.waitUntil(lambda: "tokens" in viewer.summary.text(), timeout=20000)
    text = viewer.text.toPlainText()
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>")
    assert "<|im_start|>user\nWhat is 2+2?<|im_end|>" in text
    assert int(viewer.summary.text().split()[0]) > 10


@pytest.mark.usefixtures("endless_replies")
def test_escape_cancels_a_real_reply(qtbot: QtBot, real_window: MainWindow) -> None:
    window = real_window
    window.settings_panel.conversation.boxes["max_tokens"].setValue(32768)
    send(qtbot, window, "Tell me a long story")
    qtbot.waitUntil(lambda: window.turns.current is not None and len(window.turns.current.text) > 5)
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Escape)
    wait_for_reply(qtbot, window)
    reply = window.chat.messages(window.conversation_id)[-1]
    assert reply.status == "interrupted"
    assert reply.finish_reason == "cancelled"
    assert reply.content
    assert window.services.engine.ready  # the model stays loaded


def test_regenerate_and_navigate_branches(qtbot: QtBot, real_window: MainWindow) -> None:
    window = real_window
    window.settings_panel.conversation.boxes["max_tokens"].setValue(12)
    send(qtbot, window, "Pick a word")
    wait_for_reply(qtbot, window)
    first = window.chat.messages(window.conversation_id)[-1]
    window.regenerate(first)
    wait_for_reply(qtbot, window)
    second = window.chat.messages(window.conversation_id)[-1]
    assert second.id != first.id
    assert [m.id for m in window.services.store.siblings(first.id)] == [first.id, second.id]
    widget = window.chat_view.widget_for(second.id)
    assert widget is not None
    assert widget.position_label.text() == "2/2"
    widget.previous_button.click()
    assert window.chat_view.messages[-1].id == first.id
    back = window.chat_view.widget_for(first.id)
    assert back is not None
    back.next_button.click()
    assert window.chat_view.messages[-1].id == second.id


def test_edit_and_resend_branches_from_the_edited_message(
    qtbot: QtBot, real_window: MainWindow
) -> None:
    window = real_window
    window.settings_panel.conversation.boxes["max_tokens"].setValue(8)
    send(qtbot, window, "First question")
    wait_for_reply(qtbot, window)
    send(qtbot, window, "Second question")
    wait_for_reply(qtbot, window)
    second_user = window.chat.messages(window.conversation_id)[2]
    window.edit_and_resend(second_user, "Second question, edited")
    wait_for_reply(qtbot, window)
    path = window.chat.messages(window.conversation_id)
    assert [m.role for m in path] == ["user", "assistant", "user", "assistant"]
    assert path[2].content == "Second question, edited"
    assert path[2].parent_id == second_user.parent_id
    assert path[3].status == "complete"
    assert len(window.services.store.messages(window.conversation_id)) == 6


@pytest.mark.usefixtures("endless_replies")
def test_killed_engine_host_keeps_partial_reply_and_reloads(
    qtbot: QtBot, real_window: MainWindow
) -> None:
    window = real_window
    window.settings_panel.conversation.boxes["max_tokens"].setValue(32768)
    send(qtbot, window, "Keep talking")
    qtbot.waitUntil(lambda: window.turns.current is not None and len(window.turns.current.text) > 5)
    client = window.services.engine.engine
    assert isinstance(client, EngineClient)
    pid = client.host_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for_reply(qtbot, window)
    reply = window.chat.messages(window.conversation_id)[-1]
    assert reply.status == "interrupted"
    assert len(reply.content) > 5
    assert window.services.store.get_message(reply.id).content == reply.content
    assert window.services.engine.status.state is ModelState.DIED
    assert window.notice.isVisible()
    assert window.notice.action_button.text() == "Reload model"
    assert "killed" in window.notice.label.text()
    assert "\n" not in window.notice.label.text()  # the host's log lines are in the tool tip
    assert "llama" in window.notice.label.toolTip()
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    assert "interrupted" in widget.status_label.text()
    window.notice.action_button.click()
    wait_for_model(qtbot, window, timeout=60000)
    assert window.services.engine.ready
    window.settings_panel.conversation.boxes["max_tokens"].setValue(6)
    send(qtbot, window, "Are you back?")
    wait_for_reply(qtbot, window)
    assert window.chat.messages(window.conversation_id)[-1].status == "complete"


@pytest.mark.parametrize("make_bad", [write_not_gguf, write_truncated])
def test_bad_model_file_shows_the_engines_reason(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path, make_bad: Callable[[Path], Path]
) -> None:
    bad = make_bad(tmp_path / "broken.gguf")
    window = make_window(EngineClient)
    window.load_model(str(bad))
    wait_for_model(qtbot, window, timeout=60000)
    assert window.services.engine.status.state is ModelState.FAILED
    reason = window.services.engine.status.error
    assert reason
    assert reason in window.notice.label.text()
    assert window.notice.isVisible()
    assert window.pages.currentWidget() is window.welcome
