"""Which files a collection's sources stand for, and what they look like on disk now.

A source is a file or a folder. Folders are walked recursively in name order; hidden
entries (names starting with a dot) and symbolic links to folders are skipped (no loops),
and only supported formats are taken. A file named explicitly is always taken, so an
unsupported one is reported rather than silently ignored.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from chatdesk.docs.extract import is_supported

HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class FileStat:
    """A file's size and modification time (nanoseconds)."""

    size: int
    mtime_ns: int


def stat_of(path: Path) -> FileStat | None:
    """The file's size and mtime, or None when it cannot be read."""
    try:
        result = path.stat()
    except OSError:
        return None
    return FileStat(result.st_size, result.st_mtime_ns)


def walk_folder(folder: Path) -> Iterator[Path]:
    """Supported files under ``folder``, in name order, hidden entries skipped."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from walk_folder(path)
        elif entry.is_file() and is_supported(path):
            yield path


def discover(sources: Iterable[Path]) -> list[Path]:
    """Every file the sources stand for, each once, sources in order."""
    found: dict[Path, None] = {}
    for source in sources:
        if source.is_dir():
            found.update(dict.fromkeys(walk_folder(source)))
        elif source.exists() or source.is_symlink():
            found[source] = None
    return list(found)


def snapshot(sources: Iterable[Path]) -> dict[Path, FileStat | None]:
    """Each discovered file's stat: what the folder watcher compares between polls."""
    return {path: stat_of(path) for path in discover(sources)}


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
