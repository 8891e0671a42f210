"""The Documents dock of the main window: the collections panel, tied to the open chat.

The checked collections are the ones attached to the open conversation (saved by
``AppServices.document_turns``; every turn in it then carries their passages). Opening a
conversation shows its attachments; files dropped on the window that are not models are
added to a collection, attached to the open chat and indexed in the background. At start
every collection is brought up to date (resuming a run a crash or quit stopped) and the
collections' folders are polled for changes, which are re-indexed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QDockWidget, QMainWindow

from chatdesk.docs.extract import is_supported
from chatdesk.services.app_services import AppServices
from chatdesk.ui.bridge import EventBridge
from chatdesk.ui.documents_panel import DROPPED, DocumentsPanel


class ChatWindow(Protocol):
    """What the dock needs of the main window."""

    conversation_id: str | None
    bridge: EventBridge

    def new_chat(self) -> None:
        """Open a new conversation."""
        ...


class DocumentsDock(QDockWidget):
    """Collections for the open conversation: attach, add, drop, index."""

    def __init__(self, window: QMainWindow, chat: ChatWindow, services: AppServices) -> None:
        super().__init__("Documents", window)
        self.setObjectName("documentsDock")
        self.chat = chat
        self.services = services
        self.panel = DocumentsPanel(services.documents, self, chat.bridge)
        self.setWidget(self.panel)
        self.panel.attached_changed.connect(self._attach)
        # carry on where a crash or quit stopped, then keep the folders watched
        services.documents.resume_all(on_done=self.panel.report_done)
        services.documents.watch(on_done=self.panel.report_done)

    def show_for(self, conversation_id: str | None) -> None:
        """Check the collections attached to this conversation."""
        turns = self.services.document_turns
        attached = turns.attached(conversation_id) if conversation_id else []
        self.panel.refresh(attached)
        if attached:
            self.services.documents.warm(attached)  # the first question is then quick

    def add_dropped(self, paths: list[Path]) -> None:
        """Files dropped on the chat: add them, attach them to the open chat, index them."""
        self.show()
        self.panel.add_paths(paths, self.panel.selected_name() or DROPPED)

    def _attach(self, names: list[str]) -> None:
        if self.chat.conversation_id is None:
            self.chat.new_chat()
        if self.chat.conversation_id is not None:
            self.services.document_turns.attach(self.chat.conversation_id, names)
        if names:
            self.services.documents.warm(names)


def document_drops(urls: list[QUrl]) -> list[Path]:
    """Dropped local folders and files of a document format (others are not taken)."""
    paths = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
    return [path for path in paths if path.is_dir() or (path.is_file() and is_supported(path))]
