"""The one way from background threads into the GUI: a queued signal, and Qt signals for events.

``EventBridge.dispatch`` is the window's ``Dispatch`` (``chatdesk.services.events``): the
engine's reader thread, download threads and worker threads call it with a function, and a
queued connection runs that function on the GUI thread. ``from_thread(fn)`` wraps a GUI
function as a callback any thread may call (indexing progress, a download's job changes).
The bridge also listens to the turn service and the engine session (their callbacks
already arrive on the GUI thread) and re-emits them as Qt signals, which the window and the
tests connect to: a reply started, grew, finished, an engine event arrived (prompt
progress), the model's state changed.

``Background`` is the one helper for blocking work started from the GUI: ``run(work, done,
failed)`` runs ``work()`` on a daemon thread and calls ``done(result)`` or
``failed(error)`` on the GUI thread; ``when_done(future, done, failed)`` does the same for
a future someone else completes (an engine call, a remote server's answer). Results for a
receiver that has been closed are dropped, and so are those for a method of a widget that
has been deleted (a modal dialog is deleted once closed: ``chatdesk.ui.modal``). Nothing in
the window polls a future.
``OrderedWorker`` is one long-lived thread for work that runs often and must not wait for a
thread to start (a finished reply's render; issue 25): it hands its results to a
``Background``.

``Throttle`` is the one rate limit for redraws driven by events (a streaming reply,
download rows, indexing and install progress): the first call runs at once, later calls
within ``delay_ms`` collapse into one call with the latest arguments at the end of the
interval (as qutebrowser's ``Throttle``). Given ``hold`` (``RecentInput``: the user typed in
the last moments), a due call waits a further interval while ``hold()`` is true, up to
``max_hold_ms``: keystrokes then never queue behind a redraw of the streaming reply, which
on a loaded machine takes several times its CPU time (issue 25), and the reply still
moves at least every ``max_hold_ms``.

No other QObject in ``chatdesk.ui`` carries anything from a thread (``tests/test_layering.py``).
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from chatdesk.engine.types import ReplyEvent
from chatdesk.services.engine_session import ModelStatus
from chatdesk.services.events import Task
from chatdesk.services.turns import Turn

Work = Callable[[], Any]  # Background.run's and OrderedWorker.run's arguments
Done = Callable[[Any], None]
Failed = Callable[[BaseException], None] | None
Runner = Callable[[Work, Done, Failed], None]  # the shape of Background.run / OrderedWorker.run


class EventBridge(QObject):
    """Hands tasks to the GUI thread and turns service events into signals."""

    _task = Signal(object)
    turn_started = Signal(object)  # Turn
    turn_text = Signal(object, str)  # Turn, the new text
    turn_finished = Signal(object)  # Turn
    turn_event = Signal(object, object)  # Turn, ReplyEvent (prompt progress...)
    model_changed = Signal(object)  # ModelStatus

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._task.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def dispatch(self, task: Task) -> None:
        """Run ``task`` on the GUI thread, soon (safe to call from any thread)."""
        with contextlib.suppress(RuntimeError):  # the bridge is gone: the app is closing
            self._task.emit(task)

    def from_thread(self, function: Callable[..., None]) -> Callable[..., None]:
        """``function`` as a callback any thread may call; it runs on the GUI thread."""

        def call(*args: Any) -> None:
            self.dispatch(lambda: function(*args))

        return call

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

    def turn_event(self, turn: Turn, event: ReplyEvent) -> None:
        """The turn service's event hook: an engine event, on the GUI thread already."""
        self.bridge.turn_event.emit(turn, event)


class Background:
    """Blocking work off the GUI thread, results back on it."""

    def __init__(self, bridge: EventBridge) -> None:
        self.bridge = bridge
        self.closed = False

    def run(self, work: Work, done: Done, failed: Failed = None) -> None:
        """``work()`` on a daemon thread; ``done(result)`` or ``failed(error)`` on the GUI."""
        future: Future[Any] = Future()
        threading.Thread(
            target=complete, args=(future, work), name="chatdesk-background", daemon=True
        ).start()
        self.when_done(future, done, failed)

    def when_done(self, future: Future[Any], done: Done, failed: Failed = None) -> None:
        """Call ``done(result)`` or ``failed(error)`` on the GUI thread once ``future`` ends."""

        def deliver(finished: Future[Any]) -> None:
            if self.closed:
                return
            error = finished.exception()
            if error is None:
                if alive(done):
                    done(finished.result())
            elif failed is not None and alive(failed):
                failed(error)

        future.add_done_callback(lambda f: self.bridge.dispatch(lambda: deliver(f)))

    def close(self) -> None:
        """Drop results that arrive from now on."""
        self.closed = True


SWITCH_S = 0.0005  # the GIL's switch interval while an OrderedWorker's work runs


class OrderedWorker:
    """Runs work in order on one daemon thread, started with it; results through a
    ``Background`` (dropped once that is closed).

    Starting a thread waits until the new thread is scheduled: on a busy machine tens of
    ms of the GUI thread, so the thread is started once, before any reply. While work runs
    the GIL's switch interval is SWITCH_S: the GUI thread needs the GIL for every Python
    callback Qt makes (a paint, a key), and waits at most that long for it each time
    instead of Python's default 5 ms.
    """

    def __init__(self, background: Background, name: str = "chatdesk-ordered") -> None:
        self.background = background
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None]
        self._jobs = queue.SimpleQueue()
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    def run(self, work: Work, done: Done, failed: Failed = None) -> None:
        """``work()`` on the worker, after the work queued before it; then ``done(result)``
        or ``failed(error)`` on the GUI thread."""
        future: Future[Any] = Future()
        self._jobs.put((work, future))
        self.background.when_done(future, done, failed)

    def close(self) -> None:
        """End the thread once the queued work is done."""
        self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            work, future = job
            previous = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_S)
            try:
                complete(future, work)
            finally:
                sys.setswitchinterval(previous)


def alive(callback: Callable[..., Any]) -> bool:
    """False for a method of a Qt object whose C++ side has been deleted."""
    receiver = getattr(callback, "__self__", None)
    return not isinstance(receiver, QObject) or shiboken6.isValid(receiver)


def complete(future: Future[Any], work: Work) -> None:
    """Run ``work`` and end ``future`` with its result or its error."""
    try:
        future.set_result(work())
    except BaseException as error:
        future.set_exception(error)


class RecentInput:
    """Whether the user typed within the last ``window_ms`` (``touch`` on each change)."""

    def __init__(self, window_ms: float) -> None:
        self.window_ms = window_ms
        self._last = -1e9

    def touch(self) -> None:
        """The user just typed."""
        self._last = time.monotonic()

    def __call__(self) -> bool:
        return (time.monotonic() - self._last) * 1000 < self.window_ms


class Throttle:
    """Calls ``function`` at most once per ``delay_ms``, always with the latest arguments
    (and, with ``hold``, later while ``hold()`` is true, up to ``max_hold_ms``)."""

    def __init__(
        self,
        function: Callable[..., None],
        delay_ms: float,
        parent: QObject,
        hold: Callable[[], bool] | None = None,
        max_hold_ms: float = 0.0,
    ) -> None:
        self.function = function
        self.delay_ms = delay_ms
        self.hold = hold
        self.max_hold_ms = max_hold_ms
        self._pending: tuple[Any, ...] | None = None
        self._last: float | None = None  # when the last call ended (monotonic seconds)
        self._held_since: float | None = None
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._due)

    def __call__(self, *args: Any) -> None:
        """Call now if the last call is ``delay_ms`` old, else once at the end of the wait."""
        self._pending = args
        if self._timer.isActive():
            return
        waited_ms = None if self._last is None else (time.monotonic() - self._last) * 1000
        if waited_ms is None or waited_ms >= self.delay_ms:
            self._due()
        else:
            self._timer.start(max(1, int(self.delay_ms - waited_ms)))

    def _due(self) -> None:
        """The wait is over: call, unless ``hold`` asks for another interval (bounded)."""
        now = time.monotonic()
        if self.hold is not None and self._pending is not None and self.hold():
            self._held_since = self._held_since or now
            if (now - self._held_since) * 1000 < self.max_hold_ms:
                self._timer.start(max(1, int(self.delay_ms)))
                return
        self.flush()

    @property
    def pending(self) -> bool:
        """True while a call waits for its turn."""
        return self._pending is not None

    def flush(self) -> None:
        """Make the waiting call now (nothing waits: nothing happens)."""
        self._timer.stop()
        self._held_since = None
        args, self._pending = self._pending, None
        if args is not None:
            self.function(*args)
            self._last = time.monotonic()

    def cancel(self) -> None:
        """Drop the waiting call."""
        self._timer.stop()
        self._pending = None
