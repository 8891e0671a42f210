"""Export and import for the window and the command line: one conversation to Markdown or
JSON (a file, or text for stdout), all to a folder, conversations from a JSON file or text.
Errors come back as ``ExportError`` with a readable reason."""

from __future__ import annotations

import logging
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
log = logging.getLogger("chatdesk.export")


class ExportService:
    """Thin wrapper over ``chatdesk.export`` bound to the window's store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def markdown(self, conversation_id: str, path: Path) -> Path:
        """Write the conversation's active branch as Markdown."""
        return self.to_file(conversation_id, "md", path, False)

    def json(self, conversation_id: str, path: Path, probabilities: bool = False) -> Path:
        """Write the whole conversation tree as lossless JSON (with the replies' token
        probabilities when ``probabilities``)."""
        return self.to_file(conversation_id, "json", path, probabilities)

    def all_to_folder(self, folder: Path, fmt: str = "md") -> int:
        """Every conversation, one file each (existing files are kept); how many were written."""
        return len(self.all_to(folder, fmt, False))

    def import_file(self, path: Path) -> list[str]:
        """Conversations from a JSON file; their ids. Nothing is written when it fails."""
        return self.import_from(path).conversation_ids

    def to_file(self, conversation_id: str, fmt: str, path: Path, probabilities: bool) -> Path:
        """One conversation in ``fmt`` (``FORMATS``) written to ``path``."""
        written = export_conversation(self._store, conversation_id, fmt, path, probabilities)
        log.info("exported conversation %s as %s to %s", conversation_id, fmt, written)
        return written

    def to_text(self, conversation_id: str, fmt: str, probabilities: bool) -> str:
        """One conversation in ``fmt`` as text (for stdout)."""
        return render(self._store, conversation_id, fmt, probabilities)

    def all_to(self, folder: Path, fmt: str, probabilities: bool) -> list[Path]:
        """Every conversation into ``folder``; the files written."""
        written = export_all(self._store, fmt, folder, probabilities)
        log.info("exported %d conversations as %s to %s", len(written), fmt, folder)
        return written

    def record_text(self, conversation_id: str) -> str:
        """The whole conversation as a JSON export document (``chatdesk show --json``)."""
        return document([stored_record(self._store, conversation_id)])

    def import_from(self, path: Path | None, text: str = "") -> ImportResult:
        """Conversations from a JSON file (or, without a path, from ``text``)."""
        result = import_text(self._store, text) if path is None else import_file(self._store, path)
        log.info(
            "imported %d conversations (%d messages) from %s",
            len(result.conversation_ids), result.message_count, path or "standard input",
        )  # fmt: skip
        return result

    @staticmethod
    def safe_name(title: str) -> str:
        """A file name (without extension) from a title, for the save dialog's suggestion."""
        return safe_stem(title, SUGGESTED_NAME_BYTES)
