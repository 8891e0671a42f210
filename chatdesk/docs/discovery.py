"""Which files a collection's sources stand for, and what they look like on disk now.

A source is a file or a folder. Folders are walked in name order, depth first, with a
stack of their own rather than recursion (a folder 1,500 levels deep is walked like any
other); hidden entries (names starting with a dot) and symbolic links to folders are
not followed (no loops), and only supported formats are taken; a link to a file that
cannot be reached (broken, a loop) is taken so that it is listed with its reason. A file
named explicitly is always taken, so an unsupported one, a link loop, a FIFO or a device
is reported with its reason rather than silently ignored (``extract.check_size`` refuses
what is not a regular file). ``display`` gives a path for the screen, whatever bytes its name holds.
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
    stack: list[Iterator[os.DirEntry[str]]] = [_listing(folder)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
        elif entry.name.startswith("."):
            continue
        elif entry.is_dir(follow_symlinks=False):
            stack.append(_listing(Path(entry.path)))
        elif (_is_file(entry) or entry.is_symlink()) and is_supported(Path(entry.path)):
            yield Path(entry.path)  # a broken link or a link loop: listed with its reason


def _listing(folder: Path) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            return iter(sorted(listing, key=lambda entry: entry.name))
    except OSError:
        return iter(())


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def discover(sources: Iterable[Path], excluded: Iterable[Path] = ()) -> list[Path]:
    """Every file the sources stand for, each once, sources in order. A folder's files
    leave out what was ``excluded`` inside it (a file, or a folder and all under it); a
    source is never left out by an exclusion above it."""
    left_out = list(excluded)
    found: dict[Path, None] = {}
    for source in sources:
        if source.is_dir():
            inside = [path for path in left_out if source in path.parents]
            found.update(dict.fromkeys(f for f in walk_folder(source) if not within(f, inside)))
        elif os.path.lexists(source):
            found[source] = None
    return list(found)


def within(path: Path, folders: Iterable[Path]) -> bool:
    """Whether ``path`` is one of ``folders`` or lies under one."""
    return any(folder == path or folder in path.parents for folder in folders)


def display(path: Path | str) -> str:
    """The path as text that can be printed and stored: undecodable bytes as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def storable(path: Path) -> bool:
    """Whether the path's name is valid text (UTF-8), as a database row needs."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
