"""Modal dialogs die on the GUI thread, never in Python's garbage collector.

The crash QA found: search the hub from the Models dialog with no network, close it with
Esc, open the Tools dialog (its worker imports the MCP library): the window died with
SIGSEGV. ``QDialog.exec()`` hands the dialog to Python; the failed search's traceback kept
it in a reference cycle, and the garbage collector, run by the importing worker thread,
deleted the dialog there. ``run_modal`` has the GUI thread delete every modal dialog.
"""

from __future__ import annotations

import gc
import re
import socket
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import constants
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QLabel
from pytestqt.qtbot import QtBot
from shiboken6 import Shiboken

from chatdesk.ui.bridge import Background, EventBridge
from chatdesk.ui.models_dialog import ModelsDialog
from tests.support.scripted_engine import ScriptedEngine

UI = Path(__file__).parents[2] / "chatdesk" / "ui"


@pytest.fixture
def unreachable_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub's endpoint is a local port nobody listens on (as with no network)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")


@pytest.fixture
def no_automatic_gc() -> Iterator[None]:
    """Only the test collects garbage (the crash depended on which thread did)."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def search_then_escape(dialog: ModelsDialog) -> None:
    """In the dialog's own loop: search, wait for the hub's error, press Esc."""
    dialog.tabs.setCurrentWidget(dialog.search)
    dialog.search.query.setText("qwen")
    QTest.keyClick(dialog.search.query, Qt.Key.Key_Return)

    def escape_once_failed() -> None:
        if "cannot be reached" in dialog.status.text():
            QTest.keyClick(dialog, Qt.Key.Key_Escape)
        else:
            QTimer.singleShot(20, escape_once_failed)

    escape_once_failed()


def test_models_dialog_closed_after_a_failed_search_dies_on_the_gui_thread(
    qtbot: QtBot, make_window: Any, unreachable_hub: None, no_automatic_gc: None
) -> None:
    window = make_window(ScriptedEngine)
    seen: list[weakref.ref[QDialog]] = []
    destroyed_on: list[str] = []

    def drive() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ModelsDialog)
        seen.append(weakref.ref(dialog))
        dialog.destroyed.connect(lambda: destroyed_on.append(threading.current_thread().name))
        search_then_escape(dialog)

    QTimer.singleShot(0, drive)
    window.open_models_dialog()
    assert "cannot be reached" in seen[0]().status.text()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: bool(destroyed_on), timeout=2000)  # failed before run_modal
    assert destroyed_on == [threading.main_thread().name]
    worker = threading.Thread(target=gc.collect, name="collector")  # as the MCP import did
    worker.start()
    worker.join()
    qtbot.wait(50)
    dialog = seen[0]()
    assert dialog is None or not Shiboken.isValid(dialog)


def test_the_window_runs_modal_dialogs_only_through_run_modal() -> None:
    """A dialog's ``exec()`` elsewhere would leave its life to the garbage collector."""
    calls = [
        f"{path.name}: {line.strip()}"
        for path in sorted(UI.glob("*.py"))
        if path.name not in {"modal.py", "app.py"}  # app.py runs the application's loop
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"\.exec\(\)", line)
    ]
    assert calls == []


def test_a_result_for_a_deleted_widget_is_dropped(qtbot: QtBot) -> None:
    """A worker's answer arriving after its dialog was closed (so deleted) is not shown."""
    bridge = EventBridge()
    background = Background(bridge)
    release = threading.Event()
    viewer = QLabel()
    background.run(lambda: release.wait(5) and "late", viewer.setText, viewer.setText)
    viewer.deleteLater()
    qtbot.waitUntil(lambda: not Shiboken.isValid(viewer))
    release.set()
    done = threading.Event()
    background.run(lambda: None, lambda _: done.set())  # queued behind the late answer
    qtbot.waitUntil(done.is_set)  # no RuntimeError (C++ object already deleted) before it
