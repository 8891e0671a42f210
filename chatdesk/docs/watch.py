"""A Qt-free folder watcher: polls the collections' sources and reports the ones that changed.

Every ``interval`` seconds each collection's files are listed and stat'ed (no content is
read); a collection whose set of files, sizes or mtimes differs from the last poll is
passed to ``on_change``, which re-indexes it (the indexer itself skips the unchanged
files). Polling works the same on every system and for network folders, which native
notifications do not; the window may add ``QFileSystemWatcher`` to react sooner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from chatdesk.docs.discovery import FileStat, snapshot

SourcesOf = Callable[[], dict[str, list[Path]]]
Snapshot = dict[Path, FileStat | None]


class FolderPoller:
    """Calls ``on_change(collection name)`` when a collection's files change."""

    def __init__(
        self, sources_of: SourcesOf, on_change: Callable[[str], None], interval: float = 5.0
    ) -> None:
        self.sources_of = sources_of
        self.on_change = on_change
        self.interval = interval
        self._last: dict[str, Snapshot] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> list[str]:
        """Compare with the last poll; the changed collections (each reported once)."""
        changed = []
        current = {name: snapshot(paths) for name, paths in self.sources_of().items()}
        for name, files in current.items():
            if name in self._last and self._last[name] != files:
                changed.append(name)
        self._last = current
        for name in changed:
            self.on_change(name)
        return changed

    def start(self) -> None:
        """Poll in a daemon thread until ``stop()``; the first poll only takes stock."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="docs-watch", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        self.poll_once()
        while not self._stop.wait(self.interval):
            self.poll_once()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
