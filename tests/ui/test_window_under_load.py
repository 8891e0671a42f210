"""Issue 25 in the window: the open conversation is warmed in the engine host before Send,
redraws of a streaming reply wait while the user types, and the footer rows' layout
measures itself once per width."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QPushButton, QWidget
from pytestqt.qtbot import QtBot

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import ReplyStats
from chatdesk.services import turns as chat_module
from chatdesk.services.turns import TurnService
from chatdesk.ui import warming as ui_warming
from chatdesk.ui.bridge import (
    SWITCH_S,
    Background,
    EventBridge,
    OrderedWorker,
    RecentInput,
    Throttle,
)
from chatdesk.ui.flow_layout import FlowLayout
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.message_body import MessageBody
from tests.support.chat_requests import chat
from tests.support.scripted_engine import ScriptedEngine
from tests.ui.conftest import wait_for_model, wait_for_reply

MakeWindow = Callable[..., MainWindow]
LINE = "and what colour was the lighthouse, and who kept it in the old days?"


@pytest.mark.slow
def test_opening_a_conversation_and_typing_warm_it_so_send_reads_little(
    qtbot: QtBot, make_window: MakeWindow, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = chat_module.to_sampling
    monkeypatch.setattr(
        chat_module,
        "to_sampling",
        lambda s: dataclasses.replace(original(s), max_tokens=4, ignore_eos=True),
    )
    window = make_window(EngineClient)
    window.load_model(str(tiny_model_path))
    wait_for_model(qtbot, window, timeout=60000)
    first = window.turns.new_conversation()
    window.open_conversation(first.id)
    window.send("Tell me about the harbour and its old lighthouse. " * 6)
    wait_for_reply(qtbot, window)
    window.new_chat()
    window.send("Something else entirely: counting sheep. " * 6)
    wait_for_reply(qtbot, window)
    engine = window.services.engine.raw_engine
    window.open_conversation(first.id)  # warms: the host switches to it before any Send
    qtbot.waitUntil(
        lambda: engine.status().result(10)["conversation_key"] == first.id, timeout=20000
    )
    qtbot.keyClicks(window.composer.text, LINE[:-1])
    time.sleep(0.6)  # a pause in typing: the settled words are warmed
    qtbot.wait(600)
    ended: list[ReplyStats | None] = []
    window.turns.add_end_hook(lambda _turn, stats, _error: bool(ended.append(stats)))
    qtbot.keyClicks(window.composer.text, "?")
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Return)
    wait_for_reply(qtbot, window)
    assert ended
    assert ended[0] is not None
    assert ended[0].kv_source == "context"  # the warm had switched the host to it
    typed = engine.render(chat([{"role": "user", "content": LINE}])).result(10).tokens
    assert ended[0].evaluated_prompt_tokens < typed / 2  # "lighthouse?" and the closing only


def test_the_end_of_a_reply_warms_its_conversation(
    qtbot: QtBot, make_window: MakeWindow, fake_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chat past its context reads its kept part again at a cut: the warm as the reply
    ends lets that happen while the user reads (tests/engine/test_warming.py)."""
    window = make_window(lambda: ScriptedEngine(tokens=40, rate=40.0))  # a 1 s reply
    window.load_model(str(fake_gguf))
    wait_for_model(qtbot, window)
    warms: list[tuple[str, bool]] = []

    def warm(turns: TurnService, conversation_id: str, draft: str = "") -> None:
        warms.append((conversation_id, turns.streaming))

    monkeypatch.setattr(ui_warming, "warm_conversation", warm)
    window.send("Tell me about the harbour.")
    wait_for_reply(qtbot, window)
    assert window.conversation_id is not None
    qtbot.waitUntil(lambda: (window.conversation_id, False) in warms, timeout=5000)


def test_a_redraw_waits_while_the_user_types_but_not_forever(qtbot: QtBot) -> None:
    calls: list[float] = []
    typing = RecentInput(window_ms=100)
    parent = QObject()
    throttle = Throttle(lambda: calls.append(time.monotonic()), 20, parent, typing, 250)
    throttle()
    assert len(calls) == 1  # nothing typed: at once
    started = time.monotonic()
    typing.touch()
    throttle()
    qtbot.wait(60)
    assert len(calls) == 1  # typed just now: the redraw waits
    while len(calls) < 2 and time.monotonic() - started < 2:
        typing.touch()  # typing on and on
        qtbot.wait(10)
    assert len(calls) == 2
    assert 0.2 <= calls[1] - started < 1.0  # held, but at most about max_hold_ms


def test_flow_layout_height_follows_its_items_after_a_change(qtbot: QtBot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    row = FlowLayout(host)
    buttons = [QPushButton(f"Button number {n}") for n in range(6)]
    for button in buttons:
        row.addWidget(button)
    host.show()
    narrow = row.heightForWidth(150)
    assert row.heightForWidth(150) == narrow  # measured once per width
    assert row.heightForWidth(2000) < narrow  # one line when wide
    for button in buttons[1:]:
        button.hide()
    qtbot.waitUntil(lambda: row.heightForWidth(150) < narrow)  # invalidated by hiding


def test_ordered_work_runs_in_turn_on_one_thread_and_comes_back_on_the_gui_thread(
    qtbot: QtBot,
) -> None:
    """The render worker is started with it (a reply's end never waits for a thread to
    start), runs work in order with a short GIL switch interval, then restores it."""
    worker = OrderedWorker(Background(EventBridge()), "test-ordered")
    seen: list[tuple[str, int, float]] = []
    results: list[tuple[int, bool]] = []
    gui = threading.get_ident()
    for n in range(3):
        worker.run(
            lambda n=n: seen.append((threading.current_thread().name, n, sys.getswitchinterval())),
            lambda _r, n=n: results.append((n, threading.get_ident() == gui)),
        )
    errors: list[BaseException] = []
    worker.run(lambda: 1 / 0, lambda _r: None, errors.append)
    qtbot.waitUntil(lambda: len(results) == 3 and len(errors) == 1, timeout=5000)
    assert seen == [("test-ordered", n, SWITCH_S) for n in range(3)]
    assert results == [(0, True), (1, True), (2, True)]
    assert isinstance(errors[0], ZeroDivisionError)
    assert sys.getswitchinterval() != SWITCH_S
    worker.close()


def test_a_reply_without_tool_calls_ends_without_reading_the_branch_again(
    qtbot: QtBot, ready_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the whole branch again at the end of every reply was a long block of the
    GUI thread on a busy machine (issue 25); the reply is still shown complete."""
    window = ready_window
    window.send("Hello")
    qtbot.waitUntil(lambda: window.turns.current is not None and bool(window.turns.current.text))
    read: list[str] = []
    original = window.chat.messages
    monkeypatch.setattr(window.chat, "messages", lambda cid: (read.append(cid), original(cid))[1])
    wait_for_reply(qtbot, window)
    assert read == []
    reply = window.chat_view.widgets[-1]
    assert reply.message.status == "complete"
    scratch = MessageBody(window.renderer)
    qtbot.addWidget(scratch)
    scratch.show_markdown(reply.message.content)
    qtbot.waitUntil(lambda: not scratch.rendering)
    assert reply.body.document().toHtml() == scratch.document().toHtml()
