"""File dialogs of the main window: export, export all, import, Open GGUF file, dropped files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QFileDialog, QMessageBox

from chatdesk.export.wording import counted
from chatdesk.services.export import ExportError

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow

STATUS_MS = 4000


def gguf_from_urls(urls: Iterable[QUrl]) -> str | None:
    """The first local .gguf file among dragged or dropped URLs."""
    for url in urls:
        if url.isLocalFile() and url.toLocalFile().lower().endswith(".gguf"):
            return str(url.toLocalFile())
    return None


class FileActions:
    """Asks for files and folders, then hands them to the services."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def open_gguf_file(self) -> None:
        """Pick a .gguf file and load it."""
        path, _filter = QFileDialog.getOpenFileName(
            self.window, "Open GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.window.load_model(path)
        else:
            self.window.refresh_models()

    def export_markdown(self) -> None:
        """Ctrl+E: the open conversation as a Markdown file."""
        self._export_one("Markdown (*.md)", ".md", self.window.services.export.markdown)

    def export_json(self) -> None:
        """The open conversation as a lossless JSON file."""
        self._export_one("JSON (*.json)", ".json", self.window.services.export.json)

    def _export_one(
        self, file_filter: str, suffix: str, write: Callable[[str, Path], object]
    ) -> None:
        window = self.window
        if window.conversation_id is None:
            return
        conversation = window.services.conversations.get(window.conversation_id)
        title = conversation.title if conversation else "chat"
        suggestion = str(Path.home() / f"{window.services.export.safe_name(title)}{suffix}")
        path, _f = QFileDialog.getSaveFileName(
            window, "Export conversation", suggestion, file_filter
        )
        if not path:
            return
        try:
            write(window.conversation_id, Path(path))
        except (ExportError, OSError) as error:
            QMessageBox.warning(window, "Export", str(error))
            return
        window.statusBar().showMessage(f"Exported to {path}", STATUS_MS)

    def export_all(self, fmt: str = "md") -> None:
        """Every conversation to a folder, one file each (Markdown, or JSON)."""
        window = self.window
        folder = QFileDialog.getExistingDirectory(
            window, "Export all conversations", str(Path.home())
        )
        if not folder:
            return
        try:
            count = window.services.export.all_to_folder(Path(folder), fmt)
        except (ExportError, OSError) as error:
            QMessageBox.warning(window, "Export", str(error))
            return
        window.statusBar().showMessage(
            f"Exported {counted(count, 'conversation')} to {folder}", STATUS_MS
        )

    def import_json(self) -> None:
        """Conversations from a JSON file (ChatDesk's own or a minimal role/content list)."""
        window = self.window
        path, _f = QFileDialog.getOpenFileName(
            window, "Import conversations", str(Path.home()), "JSON (*.json)"
        )
        if not path:
            return
        try:
            ids = window.services.export.import_file(Path(path))
        except (ExportError, OSError) as error:
            QMessageBox.warning(window, "Import", f"Nothing was imported.\n\n{error}")
            return
        window.refresh_sidebar()
        if ids:
            window.open_conversation(ids[0])
        window.statusBar().showMessage(f"Imported {counted(len(ids), 'conversation')}", STATUS_MS)
