"""Removing folder trees too deep for ``shutil.rmtree``.

The hostile-documents tests build a chain of 1,500 nested folders (deeper than Python's
recursion limit, which is the point). ``shutil.rmtree`` and pytest's own clean-up of old
temporary folders recurse once per level and die with ``RecursionError``, which fails the
whole run *after* every test passed. ``remove_tree`` walks with an explicit stack instead;
``sweep_stale`` runs at the start of a session on the folders pytest is about to delete
(its ``garbage-*`` folders, and numbered ones a killed run left behind).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from pathlib import Path

KEEP_NUMBERED = 3  # pytest keeps the newest three ``pytest-N`` folders; the rest are its to delete
LOCK_SECONDS = 3 * 24 * 3600  # pytest's own: a folder locked more recently is a run in progress


def remove_tree(top: Path) -> None:
    """Delete ``top`` and everything under it without recursion (links are not followed)."""
    if not os.path.lexists(top):
        return
    stack = [os.fspath(top)]
    while stack:
        path = stack[-1]
        entries = _entries(path)
        children = [entry.path for entry in entries if entry.is_dir(follow_symlinks=False)]
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
        if children:
            stack.extend(children)
            continue
        stack.pop()
        _remove_empty(path)


def _entries(path: str) -> list[os.DirEntry[str]]:
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        return []
    os.chmod(path, 0o700)  # a read-only folder (a test's) must still be emptied
    with os.scandir(path) as scan:
        return list(scan)


def _remove_empty(path: str) -> None:
    if stat.S_ISDIR(os.lstat(path).st_mode):
        os.rmdir(path)
    else:
        os.unlink(path)


def sweep_stale(root: Path) -> None:
    """Remove pytest's ``garbage-*`` folders and numbered folders older than the newest three."""
    if not root.is_dir():
        return
    numbered = sorted(
        (int(match.group(1)), path)
        for path in root.iterdir()
        if (match := re.fullmatch(r"pytest-(\d+)", path.name)) and not path.is_symlink()
    )
    stale = [path for _, path in numbered[:-KEEP_NUMBERED] if not _in_use(path)]
    for path in [*root.glob("garbage-*"), *stale]:
        with contextlib.suppress(OSError):  # gone already, or busy: pytest's clean-up decides
            remove_tree(path)


def _in_use(folder: Path) -> bool:
    try:
        return time.time() - (folder / ".lock").stat().st_mtime < LOCK_SECONDS
    except OSError:
        return False
