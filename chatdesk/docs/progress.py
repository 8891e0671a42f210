"""Progress of an indexing run: what is done, how fast, and how long is left."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace


@dataclass
class IndexProgress:
    """A snapshot of an indexing run (copied for each callback)."""

    collection: str
    files_total: int = 0
    files_done: int = 0  # indexed, skipped or failed
    files_skipped: int = 0
    files_failed: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    pages: int = 0
    chunks: int = 0
    current: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: bool = False
    cancelled: bool = False

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return max(time.monotonic() - self.started, 1e-9)

    @property
    def pages_per_second(self) -> float:
        """Pages (a page-less file counts as one) read per second."""
        return self.pages / self.elapsed

    @property
    def chunks_per_second(self) -> float:
        """Chunks written per second."""
        return self.chunks / self.elapsed

    @property
    def seconds_left(self) -> float | None:
        """Time left, from the bytes read so far; None until there is a rate to go by."""
        if self.bytes_done <= 0 or self.bytes_total <= 0:
            return None
        rate = self.bytes_done / self.elapsed
        return max(self.bytes_total - self.bytes_done, 0) / rate

    def snapshot(self) -> IndexProgress:
        """A copy for a callback (the run keeps changing its own)."""
        return replace(self)


ProgressCallback = Callable[[IndexProgress], None]


def describe(progress: IndexProgress) -> str:
    """One line: files, pages, chunks, rate, time left."""
    left = progress.seconds_left
    eta = "" if left is None or progress.finished else f", {format_duration(left)} left"
    failed = f", {progress.files_failed} failed" if progress.files_failed else ""
    return (
        f"{progress.files_done}/{progress.files_total} files{failed}, {progress.pages} pages, "
        f"{progress.chunks} chunks, {progress.pages_per_second:.1f} pages/s{eta}"
    )


def format_duration(seconds: float) -> str:
    """0:07, 3:25, 1:02:03."""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
