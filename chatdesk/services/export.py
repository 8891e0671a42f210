"""Export and import for the window: one conversation to Markdown or JSON, all to a folder."""

from __future__ import annotations

from pathlib import Path

from chatdesk.store import Store


class ExportService:
    """Thin wrapper over ``chatdesk.export`` bound to the window's store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def markdown(self, conversation_id: str, path: Path) -> None:
        """Write the conversation's active branch as Markdown."""
        raise NotImplementedError

    def json(self, conversation_id: str, path: Path) -> None:
        """Write the whole conversation tree as JSON."""
        raise NotImplementedError

    def all_to_folder(self, folder: Path) -> int:
        """Every conversation, one file each; returns how many were written."""
        raise NotImplementedError

    def import_file(self, path: Path) -> list[str]:
        """Conversations from a JSON file; returns their ids (nothing written on error)."""
        raise NotImplementedError

    @staticmethod
    def safe_name(title: str) -> str:
        """A file name from a title (used for the save dialog's suggestion)."""
        cleaned = "".join(c if c.isalnum() or c in " -_." else "_" for c in title).strip(" .")
        return cleaned[:80] or "conversation"
