"""Names the GUI thread's longest blocks in a bench run (``CHATDESK_BENCH_SAMPLE=1``).

A sampler thread reads the GUI thread's Python stack every SAMPLE_S (``sys._current_frames``:
while the GUI thread is inside Qt, its innermost Python frame is the call that entered Qt).
After the round, each probe gap longer than BLOCK_MS (the probe's tick times) is named by the
samples taken inside it: the most common innermost chatdesk frames, with a count. Sampling
takes the GIL now and then, so it is for finding blocks, not for the reported figures.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import os
import sys
import threading
import time
from types import FrameType
from typing import Any

SAMPLE_S = 0.002
BLOCK_MS = 30.0
DEPTH = 6
KEEP = ("chatdesk", "benchmarks", "markdown_it", "pygments")


def enabled() -> bool:
    """True when the run asked for the blocks to be named."""
    return os.environ.get("CHATDESK_BENCH_SAMPLE") == "1"


class StackSampler:
    """Samples one thread's stack from a daemon thread until stopped."""

    def __init__(self, thread_id: int | None = None) -> None:
        self.thread_id = thread_id or threading.get_ident()
        self.samples: list[tuple[float, tuple[str, ...]]] = []
        self.events: list[tuple[float, str]] = []  # (when delivery began, receiver:type)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        from PySide6.QtCore import QCoreApplication, QObject

        events = self.events

        class EventLog(QObject):
            def eventFilter(self, watched: Any, event: Any) -> bool:
                events.append(
                    (time.perf_counter(), f"{type(watched).__name__}:{event.type().name}")
                )
                return False

        self._log = EventLog()
        app = QCoreApplication.instance()
        assert app is not None
        app.installEventFilter(self._log)
        self._thread.start()

    def stop(self) -> None:
        from PySide6.QtCore import QCoreApplication

        app = QCoreApplication.instance()
        assert app is not None
        app.removeEventFilter(self._log)
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            frame = sys._current_frames().get(self.thread_id)
            if frame is not None:
                self.samples.append((time.perf_counter(), stack(frame)))

    def report(self, ticks: list[float], limit: int = 12) -> None:
        """Print the longest gaps between ``ticks`` over BLOCK_MS with their stacks."""
        gaps = sorted(itertools.pairwise(ticks), key=lambda g: g[0] - g[1])
        for start, end in [g for g in gaps if (g[1] - g[0]) * 1000 > BLOCK_MS][:limit]:
            inside = [s for t, s in self.samples if start <= t <= end]
            common = collections.Counter(inside).most_common(3)
            print(f"block {(end - start) * 1000:.0f} ms at +{start - ticks[0]:.2f} s:")
            for frames, count in common:
                print(f"  {count}x " + " < ".join(frames))
            print("  events: " + ", ".join(self._slowest_events(start, end)))

    def _slowest_events(self, start: float, end: float) -> list[str]:
        """The events delivered in [start, end] with the longest gaps after them."""
        times = [t for t, _ in self.events]
        first = max(0, bisect.bisect_left(times, start) - 1)
        last = bisect.bisect_right(times, end)
        window = self.events[first : last + 1]
        gaps = [(b[0] - a[0], a[1]) for a, b in itertools.pairwise(window)]
        return [f"{name} {gap * 1000:.0f} ms" for gap, name in sorted(gaps, reverse=True)[:4]]


def stack(frame: FrameType | None) -> tuple[str, ...]:
    """The innermost DEPTH frames of chatdesk (or of the bench), innermost first."""
    names: list[str] = []
    while frame is not None and len(names) < DEPTH:
        path = frame.f_code.co_filename
        if any(part in path for part in KEEP):
            short = path.rsplit("/", 1)[-1]
            names.append(f"{short}:{frame.f_code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return tuple(names)
