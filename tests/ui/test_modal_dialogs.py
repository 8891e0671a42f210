"""Modal dialogs die on the GUI thread, and a worker's answer never reaches a deleted one."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from shiboken6 import Shiboken

from chatdesk.ui.bridge import Background, EventBridge


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
