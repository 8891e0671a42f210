"""The one way from background threads into the GUI: a queued signal, and Qt signals for events.

``EventBridge.dispatch`` is the window's ``Dispatch`` (``chatdesk.services.events``): the
engine's reader thread, download threads and worker threads call it with a function, and a
queued connection runs that function on the GUI thread. The bridge also listens to the turn
service and the engine session (their callbacks already arrive on the GUI thread) and
re-emits them as Qt signals, which the window and the tests connect to.

``Background`` is the one helper for blocking work started from the GUI: ``run(work, done,
failed)`` runs ``work()`` on a small daemon-thread pool and calls ``done(result)`` or
``failed(error)`` on the GUI thread; ``when_done(future, done, failed)`` does the same for
a future someone else completes (an engine call). Results for a receiver that has been
closed are dropped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from chatdesk.services.engine_session import ModelStatus
from chatdesk.services.events import Task
from chatdesk.services.turns import Turn


class EventBridge(QObject):
    """Hands tasks to the GUI thread and turns service events into signals."""

    _task = Signal(object)
    turn_started = Signal(object)  # Turn
    turn_text = Signal(object, str)  # Turn, the new text
    turn_finished = Signal(object)  # Turn
    model_changed = Signal(object)  # ModelStatus

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._task.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def dispatch(self, task: Task) -> None:
        """Run ``task`` on the GUI thread, soon (safe to call from any thread)."""
        with contextlib.suppress(RuntimeError):  # the bridge is gone: the app is closing
            self._task.emit(task)

    def _run(self, task: Task) -> None:
        task()

    def model_status(self, status: ModelStatus) -> None:
        """The engine session's listener: re-emit a model state change."""
        self.model_changed.emit(status)


class TurnSignals:
    """Adapts the bridge to the TurnListener protocol."""

    def __init__(self, bridge: EventBridge) -> None:
        self.bridge = bridge

    def turn_started(self, turn: Turn) -> None:
        """A reply started."""
        self.bridge.turn_started.emit(turn)

    def turn_text(self, turn: Turn, delta: str) -> None:
        """The reply grew."""
        self.bridge.turn_text.emit(turn, delta)

    def turn_finished(self, turn: Turn) -> None:
        """The reply ended and is stored."""
        self.bridge.turn_finished.emit(turn)


class Background:
    """Blocking work off the GUI thread, results back on it."""

    def __init__(self, bridge: EventBridge) -> None:
        self.bridge = bridge
        self.closed = False

    def run(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """``work()`` on a daemon thread; ``done(result)`` or ``failed(error)`` on the GUI."""
        future: Future[Any] = Future()

        def target() -> None:
            try:
                future.set_result(work())
            except BaseException as error:
                future.set_exception(error)

        threading.Thread(target=target, name="chatdesk-background", daemon=True).start()
        self.when_done(future, done, failed)

    def when_done(
        self,
        future: Future[Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Call ``done(result)`` or ``failed(error)`` on the GUI thread once ``future`` ends."""

        def deliver(finished: Future[Any]) -> None:
            if self.closed:
                return
            error = finished.exception()
            if error is None:
                done(finished.result())
            elif failed is not None:
                failed(error)

        future.add_done_callback(lambda f: self.bridge.dispatch(lambda: deliver(f)))

    def close(self) -> None:
        """Drop results that arrive from now on."""
        self.closed = True
