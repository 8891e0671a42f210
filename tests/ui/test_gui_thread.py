"""One way into the GUI thread, and nothing that can block on it: a send with documents
attached whose embedding model is slow keeps the window's event loop turning, a retrieval
failure is shown in the window (the reply is still written, without the documents),
indexing reports arrive on the GUI thread, the one Throttle, and a closed window is
disconnected from the services."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from chatdesk.services.documents import DocumentService
from chatdesk.ui.bridge import Throttle
from chatdesk.ui.documents_panel import DocumentsPanel
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.prompt_viewer import PromptViewer
from tests.support.scripted_engine import ScriptedEngine
from tests.support.slow_embedder import SlowEmbedder, slow_collection
from tests.ui.conftest import wait_for_model, wait_for_reply

EMBED_S = 2.0
HEARTBEAT_MS = 20


class Heartbeat:
    """A QTimer that records the longest gap between its ticks (the GUI thread's longest block)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = time.perf_counter()
        self.timer = QTimer(interval=HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now


WithDocuments = Callable[[SlowEmbedder], MainWindow]


@pytest.fixture
def with_documents(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    scripted_engine: ScriptedEngine,
    fake_gguf: Path,
    tmp_path: Path,
) -> Iterator[WithDocuments]:
    """Opens a window with a model loaded and a new chat that has a collection attached
    whose embedding model is the given one; closes the documents service after."""
    opened: list[MainWindow] = []

    def open_window(embedder: SlowEmbedder) -> MainWindow:
        scripted_engine.tokens = 6
        window = make_window(lambda: scripted_engine)
        window.load_model(str(fake_gguf))
        wait_for_model(qtbot, window)
        slow_collection(window.services.documents, tmp_path, "rail", embedder)
        window.new_chat()
        cid = window.conversation_id
        assert cid is not None
        window.services.document_turns.attach(cid, ["rail"])
        opened.append(window)
        return window

    yield open_window
    for window in opened:
        window.services.documents.close()


def test_sending_with_a_slow_embedding_model_keeps_the_window_responsive(
    qtbot: QtBot, with_documents: WithDocuments, scripted_engine: ScriptedEngine
) -> None:
    window = with_documents(SlowEmbedder(EMBED_S))
    heartbeat = Heartbeat()
    qtbot.wait(100)
    heartbeat.longest = 0.0
    started = time.perf_counter()
    window.send("How long is the Velta tunnel?")
    assert time.perf_counter() - started < 0.5  # send returned before the question was embedded
    assert window.turns.streaming  # the reply shows as being written at once
    wait_for_reply(qtbot, window, timeout=30000)
    heartbeat.timer.stop()
    assert time.perf_counter() - started >= EMBED_S  # the embedding really took its time
    assert heartbeat.longest < 0.5, f"the GUI thread blocked {heartbeat.longest:.2f} s"
    sent = scripted_engine.requests[-1]["messages"][-1]["content"]
    assert "14.2 km" in sent  # the passages reached the engine
    assert window.chat_view.widgets[-1].message.status == "complete"


def test_a_retrieval_failure_is_shown_and_the_reply_written_without_documents(
    qtbot: QtBot, with_documents: WithDocuments, scripted_engine: ScriptedEngine
) -> None:
    window = with_documents(SlowEmbedder(0.1, broken=True))
    window.send("How long is the Velta tunnel?")
    wait_for_reply(qtbot, window)
    assert scripted_engine.requests[-1]["messages"][-1]["content"] == (
        "How long is the Velta tunnel?"
    )
    assert window.chat_view.widgets[-1].message.status == "complete"
    assert not window.notice.isHidden()
    assert "Documents were left out of this reply" in window.notice.label.text()
    assert "slow-embedder.gguf" in window.notice.label.text()


def test_stop_while_the_question_is_embedded_ends_the_reply_without_asking_the_engine(
    qtbot: QtBot, with_documents: WithDocuments, scripted_engine: ScriptedEngine
) -> None:
    window = with_documents(SlowEmbedder(1.0))
    asked = len(scripted_engine.requests)
    window.send("How long is the Velta tunnel?")
    window.stop()
    wait_for_reply(qtbot, window, timeout=10000)
    assert len(scripted_engine.requests) == asked
    assert window.chat_view.widgets[-1].message.status == "interrupted"


def test_show_prompt_with_a_slow_embedding_model_keeps_the_window_responsive(
    qtbot: QtBot, with_documents: WithDocuments, scripted_engine: ScriptedEngine
) -> None:
    window = with_documents(SlowEmbedder(1.0))
    cid = window.conversation_id
    assert cid is not None
    window.services.store.append_message(cid, "user", "How long is the Velta tunnel?")
    shown: list[str] = []

    def close_when_shown() -> None:
        viewers = window.findChildren(PromptViewer)
        if viewers and "tokens" in viewers[-1].summary.text():
            shown.append(viewers[-1].text.toPlainText())
            viewers[-1].accept()
        else:
            QTimer.singleShot(20, close_when_shown)

    heartbeat = Heartbeat()
    qtbot.wait(100)
    heartbeat.longest = 0.0
    QTimer.singleShot(20, close_when_shown)
    window.show_prompt()  # returns when the viewer is closed
    heartbeat.timer.stop()
    assert shown
    assert "14.2 km" in shown[0]  # the retrieved passages are in the prompt shown
    assert heartbeat.longest < 0.5, f"the GUI thread blocked {heartbeat.longest:.2f} s"


def test_the_throttle_calls_at_once_then_once_per_interval_with_the_latest(
    qtbot: QtBot,
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    calls: list[tuple[float, int]] = []
    started = time.monotonic()
    throttle = Throttle(lambda n: calls.append((time.monotonic() - started, n)), 200, parent)
    for n in range(5):
        throttle(n)
    assert [n for _, n in calls] == [0]  # the first call runs at once
    assert throttle.pending
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=2000)
    assert calls[1][1] == 4  # the calls in between collapsed into the latest
    assert calls[1][0] >= 0.19
    throttle(5)
    throttle.cancel()
    qtbot.wait(300)
    assert [n for _, n in calls] == [0, 4]
    throttle(6)
    throttle.flush()
    assert [n for _, n in calls] == [0, 4, 6]


def test_indexing_reports_reach_the_panel_on_the_gui_thread(
    qtbot: QtBot, chatdesk_home: Path, tmp_path: Path
) -> None:
    service = DocumentService(chatdesk_home)
    panel = DocumentsPanel(service)
    qtbot.addWidget(panel)
    threads: list[str] = []
    panel.progress_changed.connect(lambda _p: threads.append(threading.current_thread().name))
    panel.indexing_finished.connect(lambda *_: threads.append(threading.current_thread().name))
    (tmp_path / "notes.md").write_text("# Notes\n\nThe Velta tunnel is 14.2 km long.\n")
    with qtbot.waitSignal(panel.indexing_finished, timeout=30000):
        panel.add_paths([tmp_path / "notes.md"], "Notes")
    assert threads
    assert set(threads) == {threading.main_thread().name}
    service.close()


def test_a_closed_window_is_disconnected_from_the_services(
    qtbot: QtBot, make_window: Callable[..., MainWindow], scripted_engine: ScriptedEngine
) -> None:
    window = make_window(lambda: scripted_engine)
    turns, engine = window.services.turns, window.services.engine
    assert window._turn_signals.turn_event in turns._event_hooks
    window.close()
    assert window._turn_signals.turn_event not in turns._event_hooks
    assert window._turn_signals not in turns._listeners
    assert window.bridge.model_status not in engine._listeners
