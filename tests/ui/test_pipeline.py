"""One pipeline: the window hears the turn service through signals, the command line writes
the same rows as the window, other processes' changes appear live, and a crash is reported."""

from __future__ import annotations

import argparse
import io
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from chatdesk.cli.terminal_chat import TerminalChat
from chatdesk.logs import log_path, setup_logging
from chatdesk.services.app_services import AppServices
from chatdesk.services.engine_session import ModelState
from chatdesk.services.model_identity import HashCache
from chatdesk.services.turns import Turn
from chatdesk.store import Message, Store
from chatdesk.ui.crash import CrashHook
from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine
from tests.ui.conftest import wait_for_model

MakeWindow = Callable[..., MainWindow]
TIMED = {"time_to_first_token_ms", "tokens_per_second"}  # measured, so never equal twice


def ready(qtbot: QtBot, make_window: MakeWindow, engine: ScriptedEngine, model: Path) -> MainWindow:
    window = make_window(lambda: engine)
    window.load_model(str(model))
    wait_for_model(qtbot, window)
    assert window.services.engine.status.state is ModelState.READY
    return window


def cli_args(model: Path | None, conversation: str | None = None) -> argparse.Namespace:
    values: dict[str, Any] = dict.fromkeys(
        ["system", "temperature", "top_p", "top_k", "min_p", "repeat_penalty",
         "presence_penalty", "frequency_penalty", "seed", "max_tokens", "ctx", "gpu_layers",
         "threads"]
    )  # fmt: skip
    values.update(model=str(model) if model else None, conversation=conversation, stats=False)
    return argparse.Namespace(**values)


def terminal(model: Path | None, conversation: str | None = None) -> TerminalChat:
    """``chatdesk ask`` in-process, over the same database, with its own scripted engine."""
    services = AppServices.create(client_factory=ScriptedEngine)  # type: ignore[arg-type]
    session = TerminalChat(cli_args(model, conversation), services)
    session.out = io.StringIO()
    if conversation:
        session.conversation = session.find_conversation(conversation)
    session.load(session.model_path())
    return session


def comparable(message: Message) -> dict[str, Any]:
    fields = dict(vars(message))
    for name in ("id", "conversation_id", "parent_id", "created_at", *TIMED):
        fields.pop(name)
    return fields


def test_the_window_hears_a_turn_through_signals(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    window = ready(qtbot, make_window, scripted_engine, fake_gguf)
    with (
        qtbot.waitSignal(window.bridge.turn_started) as started,
        qtbot.waitSignal(window.bridge.turn_finished, timeout=10000) as finished,
    ):
        window.send("hello")
    turn = finished.args[0]
    assert started.args[0] is turn
    assert turn.status == "complete"
    widget = window.chat_view.widget_for(turn.message_id)
    assert widget is not None
    qtbot.waitUntil(lambda: not widget.body.rendering)  # the last frame, a turn later
    assert "def greet" in widget.body.toPlainText()


def test_continue_button_carries_on_a_stopped_reply(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    scripted_engine.tokens, scripted_engine.rate = 5000, 200.0
    window = ready(qtbot, make_window, scripted_engine, fake_gguf)
    with qtbot.waitSignal(window.bridge.turn_finished, timeout=10000) as stopped:
        window.send("write a lot")
        qtbot.waitUntil(lambda: len(window.turns.current.text if window.turns.current else "") > 20)
        window.stop()
    cut = window.chat.message(stopped.args[0].message_id)
    widget = window.chat_view.widget_for(cut.id)
    assert widget is not None
    assert widget.continue_button.isVisible()
    scripted_engine.text, scripted_engine.tokens = "The end.", 2
    with qtbot.waitSignal(window.bridge.turn_finished, timeout=10000) as finished:
        widget.continue_button.click()
    assert finished.args[0].message_id == cut.id
    reply = window.chat.message(cut.id)
    assert reply.content == cut.content + "The end."
    assert reply.status == "complete"
    qtbot.waitUntil(lambda: not widget.body.rendering)  # the last frame, a turn later
    assert "The end." in widget.body.toPlainText()
    # the scripted engine ends by running out of tokens, so the reply can go on again
    assert reply.finish_reason == "length"
    assert widget.continue_button.isVisible()


def test_command_line_and_window_write_the_same_rows(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    HashCache().compute(fake_gguf)  # both sides then record the same digest
    window = ready(qtbot, make_window, scripted_engine, fake_gguf)
    with qtbot.waitSignal(window.bridge.turn_finished, timeout=10000):
        window.send("Explain lists, please")
    session = terminal(fake_gguf)
    try:
        session.exchange("Explain lists, please")
        cli_id = session.conversation.id if session.conversation else ""
    finally:
        session.close()
    with Store() as store:
        made_in_window = store.get_conversation(window.conversation_id or "")
        made_in_cli = store.get_conversation(cli_id)
        window_rows = [comparable(m) for m in store.active_path(made_in_window.id)]
        cli_rows = [comparable(m) for m in store.active_path(cli_id)]
    for name in ("title", "model", "system_prompt", "settings", "model_identity"):
        assert getattr(made_in_cli, name) == getattr(made_in_window, name), name
    assert made_in_cli.model_identity["sha256"]
    assert cli_rows == window_rows
    assert [row["status"] for row in cli_rows] == ["complete", "complete"]


def test_ask_continues_a_conversation_with_its_own_model(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    window = ready(qtbot, make_window, scripted_engine, fake_gguf)
    with qtbot.waitSignal(window.bridge.turn_finished, timeout=10000):
        window.send("first")
    cid = window.conversation_id or ""
    session = terminal(None, cid[:8])
    try:
        assert session.services.engine.status.path == str(fake_gguf)
        session.exchange("second")
    finally:
        session.close()
    with Store() as store:
        assert [m.content for m in store.active_path(cid) if m.role == "user"] == [
            "first",
            "second",
        ]


def test_conversations_made_elsewhere_appear_in_the_open_window(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine
) -> None:
    window = make_window(lambda: scripted_engine)
    with Store() as other_process:
        other_process.create_conversation("Made on the command line")
    texts = lambda: [  # noqa: E731
        window.sidebar.list.item(row).text() for row in range(window.sidebar.list.count())
    ]
    qtbot.waitUntil(lambda: any("Made on the command line" in t for t in texts()), timeout=3000)


def test_opening_a_conversation_offers_its_model(
    qtbot: QtBot,
    make_window: MakeWindow,
    scripted_engine: ScriptedEngine,
    fake_gguf: Path,
    tmp_path: Path,
) -> None:
    other = tmp_path / "other-model.gguf"
    other.write_bytes(fake_gguf.read_bytes())
    window = ready(qtbot, make_window, scripted_engine, fake_gguf)
    cid = window.services.store.create_conversation("Old chat", model=str(other)).id
    window.open_conversation(cid)
    assert window.notice.isVisible()
    assert "other-model" in window.notice.label.text()
    with qtbot.waitSignal(window.bridge.model_changed, timeout=5000):
        window.notice.action_button.click()
    wait_for_model(qtbot, window)
    assert window.services.engine.status.path == str(other)
    window.services.settings.set_conversation_model_policy("always")
    window.open_conversation(
        window.services.store.create_conversation("x", model=str(fake_gguf)).id
    )
    wait_for_model(qtbot, window)
    assert window.services.engine.status.path == str(fake_gguf)


def streaming_under_a_crash_hook(
    qtbot: QtBot, make_window: MakeWindow, engine: ScriptedEngine, model: Path
) -> tuple[MainWindow, CrashHook, Turn]:
    """A window writing a long reply, logging to its file, with a crash hook (not installed)."""
    engine.tokens, engine.rate = 5000, 200.0
    window = ready(qtbot, make_window, engine, model)
    assert setup_logging() == log_path()
    hook = CrashHook(window, window.services)
    window.send("write a lot")
    turn = window.turns.current
    assert turn is not None
    qtbot.waitUntil(lambda: len(turn.text) > 20)
    return window, hook, turn


def reported(qtbot: QtBot, window: MainWindow, hook: CrashHook, turn: Turn) -> str:
    """Checks the dialog names the log and the reply so far is saved; the log's text."""
    assert hook.dialog is not None
    assert hook.dialog.isVisible()
    assert str(log_path()) in hook.dialog.text()
    assert window.services.chat.message(turn.message_id).content.startswith(turn.text[:20])
    for handler in logging.getLogger("chatdesk").handlers:
        handler.flush()
    hook.dialog.close()
    window.stop()
    qtbot.waitUntil(lambda: not window.turns.streaming)
    return log_path().read_text(encoding="utf-8")


def test_an_uncaught_error_is_logged_shown_and_loses_nothing(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    window, hook, turn = streaming_under_a_crash_hook(
        qtbot, make_window, scripted_engine, fake_gguf
    )
    try:
        raise RuntimeError("a bug in a slot")
    except RuntimeError:
        hook(*sys.exc_info())  # type: ignore[arg-type]
    assert "a bug in a slot" in reported(qtbot, window, hook, turn)


def test_a_worker_thread_crash_is_logged_and_shown_through_the_bridge(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    window, hook, turn = streaming_under_a_crash_hook(
        qtbot, make_window, scripted_engine, fake_gguf
    )

    def work() -> None:
        raise KeyError("a bug in a worker")

    hook.install()
    try:
        worker = threading.Thread(target=work, name="chatdesk-background")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: hook.dialog is not None and hook.dialog.isVisible())
    finally:
        hook.uninstall()
    assert hook.dialog is not None
    assert "KeyError" in hook.dialog.text()
    assert "chatdesk-background" in hook.dialog.text()
    logged = reported(qtbot, window, hook, turn)
    assert "uncaught exception in thread chatdesk-background" in logged
    assert "a bug in a worker" in logged


@pytest.fixture(autouse=True)
def _drop_log_handlers() -> Any:
    yield
    logger = logging.getLogger("chatdesk")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
