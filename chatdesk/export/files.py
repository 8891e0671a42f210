"""Writing exports to disk: one conversation to a file, or every conversation to a folder.

Files are written to a temporary name beside the target and renamed into place, so a
full disk or a crash never leaves a half-written export under the real name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from chatdesk.export.errors import ExportError
from chatdesk.export.filenames import unique_file_name
from chatdesk.export.json_format import document, stored_record
from chatdesk.export.markdown import export_markdown
from chatdesk.store import Store

FORMATS = ("md", "json")


def render(store: Store, cid: str, fmt: str, probabilities: bool = False) -> str:
    """One conversation in the given format (``md``: active branch; ``json``: lossless,
    with the replies' token probabilities when ``probabilities``; Markdown never has them)."""
    if fmt == "md":
        return export_markdown(store, cid)
    if fmt == "json":
        return document([stored_record(store, cid, probabilities)])
    raise ExportError(f"unknown export format {fmt!r} (expected one of: {', '.join(FORMATS)})")


def describe(error: OSError) -> str:
    return error.strerror or str(error)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically (temporary file in the same folder, then rename)."""
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=".chatdesk-", suffix=".tmp", dir=folder)
    except OSError as error:
        raise ExportError(f"cannot write {path}: {describe(error)}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {describe(error)}") from None


def export_conversation(
    store: Store, cid: str, fmt: str, path: Path, probabilities: bool = False
) -> Path:
    """Write one conversation to ``path`` (replacing a file already there)."""
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a folder (use --all for a folder)")
    write_text(path, render(store, cid, fmt, probabilities))
    return path


def export_all(store: Store, fmt: str, folder: Path, probabilities: bool = False) -> list[Path]:
    """Every conversation to its own file in ``folder``; existing files are never replaced."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        taken = {entry.name.casefold() for entry in folder.iterdir()}
    except OSError as error:
        raise ExportError(f"cannot write to folder {folder}: {describe(error)}") from None
    written = []
    for conversation in store.list_conversations(limit=None):
        path = folder / unique_file_name(conversation.title, fmt, taken)
        write_text(path, render(store, conversation.id, fmt, probabilities))
        written.append(path)
    return written
