"""How services hand work from background threads back to their owner's thread.

Engines and background jobs finish on their own threads. A service never touches the store
or its listeners there: it passes a zero-argument function to a ``Dispatch`` callable, which
runs it on the thread that owns the service. The window's dispatch is the Qt bridge
(``chatdesk.ui.bridge``: a queued signal onto the GUI thread); the command line and the tests
use ``EventQueue``, drained by the thread that waits for the result. ``run_inline`` runs the
function at once, for callers that are single-threaded anyway.

The other direction: an ``Offload`` runs work that may block (retrieval, embedding) away from
the owner's thread. The window passes ``in_thread`` (a daemon thread per task); the command
line keeps ``run_inline``: it has no event loop to keep responsive.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

Task = Callable[[], None]
Dispatch = Callable[[Task], None]
Offload = Callable[[Task], None]


def run_inline(task: Task) -> None:
    """A Dispatch that runs the task on the calling thread, immediately."""
    task()


def in_thread(task: Task) -> None:
    """An Offload that runs the task on a new daemon thread."""
    threading.Thread(target=task, name="chatdesk-offload", daemon=True).start()


class EventQueue:
    """A Dispatch whose tasks wait in a queue until the owning thread drains them."""

    def __init__(self) -> None:
        self._tasks: queue.SimpleQueue[Task] = queue.SimpleQueue()

    def __call__(self, task: Task) -> None:
        self._tasks.put(task)

    def drain(self, timeout: float = 0.0) -> int:
        """Run the queued tasks (waiting up to ``timeout`` for the first); how many ran."""
        ran = 0
        try:
            task = self._tasks.get(timeout=timeout) if timeout > 0 else self._tasks.get_nowait()
        except queue.Empty:
            return 0
        while True:
            task()
            ran += 1
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                return ran

    def run_until(self, done: Callable[[], bool], timeout: float | None = None) -> bool:
        """Drain until ``done()`` is true (or ``timeout`` seconds pass); whether it is."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self.drain(timeout=0.05)
        return True
