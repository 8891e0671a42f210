"""Python's cycle collector, run on the GUI thread only, while the window is open.

A Qt object whose Python wrapper owns it dies with the wrapper. Where the wrapper sits in a
reference cycle (a closure of a worker's frame kept by a traceback, a widget and its
throttled callback), only the cycle collector frees it, and CPython runs the collector on
whichever thread happens to allocate: a worker importing a package, or the engine's reader.
A widget deleted there is destroyed off the GUI thread, which Qt does not allow; the
window crashed so (SIGSEGV) once, after a closed Models dialog was collected by the thread
that listed MCP tools (``modal.run_modal`` now deletes every dialog on the GUI thread).

This closes the whole class: automatic collection is switched off, and a timer on the GUI
thread runs each generation's collection once its count passes the threshold Python would
have used, so the collector runs as often as before, only always here. Collections are
small and quick (everything loaded at start-up is frozen out of them, see
``app.create_window``). ``stop`` switches automatic collection back on.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 200


class GuiThreadCollector(QObject):
    """Collects cycles on the GUI thread every ``INTERVAL_MS`` where Python would have."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.collected = 0  # objects freed so far (for tests and the log)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        """Take over from the automatic collector."""
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Hand collection back to Python (the window is closing)."""
        self._timer.stop()
        gc.enable()

    def check(self) -> None:
        """Collect the oldest generation whose count passed its threshold (younger ones
        with it), as the automatic collector would have."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [g for g in range(3) if thresholds[g] and counts[g] > thresholds[g]]
        if due:
            self.collected += gc.collect(max(due))
