"""Export and import for the window and the command line: one conversation to Markdown or
JSON (a file, or text for stdout), all to a folder, conversations from a JSON file or text.
Errors come back as ``ExportError`` with a readable reason."""

from __future__ import annotations

from pathlib import Path

from chatdesk.export import (
    FORMATS,
    ExportError,
    ImportFormatError,
    ImportResult,
    export_all,
    export_conversation,
    import_file,
    import_text,
    render,
)
from chatdesk.export.filenames import safe_stem
from chatdesk.export.json_format import document, stored_record
from chatdesk.store import Store

__all__ = ["FORMATS", "ExportError", "ExportService", "ImportFormatError", "ImportResult"]

SUGGESTED_NAME_BYTES = 120


class ExportService:
    """Thin wrapper over ``chatdesk.export`` bound to the window's store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def markdown(self, conversation_id: str, path: Path) -> Path:
        """Write the conversation's active branch as Markdown."""
        return export_conversation(self._store, conversation_id, "md", path)

    def json(self, conversation_id: str, path: Path, probabilities: bool = False) -> Path:
        """Write the whole conversation tree as lossless JSON (with the replies' token
        probabilities when ``probabilities``)."""
        return export_conversation(self._store, conversation_id, "json", path, probabilities)

    def all_to_folder(self, folder: Path, fmt: str = "md") -> int:
        """Every conversation, one file each (existing files are kept); how many were written."""
        return len(export_all(self._store, fmt, folder))

    def import_file(self, path: Path) -> list[str]:
        """Conversations from a JSON file; their ids. Nothing is written when it fails."""
        return import_file(self._store, path).conversation_ids

    def to_file(self, conversation_id: str, fmt: str, path: Path, probabilities: bool) -> Path:
        """One conversation in ``fmt`` (``FORMATS``) written to ``path``."""
        return export_conversation(self._store, conversation_id, fmt, path, probabilities)

    def to_text(self, conversation_id: str, fmt: str, probabilities: bool) -> str:
        """One conversation in ``fmt`` as text (for stdout)."""
        return render(self._store, conversation_id, fmt, probabilities)

    def all_to(self, folder: Path, fmt: str, probabilities: bool) -> list[Path]:
        """Every conversation into ``folder``; the files written."""
        return export_all(self._store, fmt, folder, probabilities)

    def record_text(self, conversation_id: str) -> str:
        """The whole conversation as a JSON export document (``chatdesk show --json``)."""
        return document([stored_record(self._store, conversation_id)])

    def import_from(self, path: Path | None, text: str = "") -> ImportResult:
        """Conversations from a JSON file (or, without a path, from ``text``)."""
        if path is None:
            return import_text(self._store, text)
        return import_file(self._store, path)

    @staticmethod
    def safe_name(title: str) -> str:
        """A file name (without extension) from a title, for the save dialog's suggestion."""
        return safe_stem(title, SUGGESTED_NAME_BYTES)
