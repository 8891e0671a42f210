"""Export and import for the window: one conversation to Markdown or JSON, all to a folder,
conversations from a JSON file. Errors come back as ``ExportError`` with a readable reason."""

from __future__ import annotations

from pathlib import Path

from chatdesk.export import (
    ExportError,
    ImportFormatError,
    export_all,
    export_conversation,
    import_file,
)
from chatdesk.export.filenames import safe_stem
from chatdesk.store import Store

__all__ = ["ExportError", "ExportService", "ImportFormatError"]

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

    @staticmethod
    def safe_name(title: str) -> str:
        """A file name (without extension) from a title, for the save dialog's suggestion."""
        return safe_stem(title, SUGGESTED_NAME_BYTES)
