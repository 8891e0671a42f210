"""What the sidebar lists and does: pages of conversations, search, rename, pin, delete + undo.

A deleted conversation disappears at once but is only removed from the database when the undo
offer expires (or the window closes); until then Undo brings it back untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer

from chatdesk.ui.sidebar import PAGE

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow

UNDO_DELETE_MS = 8000
SEARCH_DELAY_MS = 200
SEARCH_LIMIT = 50


class ConversationList:
    """The sidebar's behaviour on top of the conversations service."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.sidebar = window.sidebar
        self.conversations = window.services.conversations
        self.pending_delete: tuple[str, str] | None = None
        self.limit = PAGE
        self.undo_timer = QTimer(window, singleShot=True, interval=UNDO_DELETE_MS)
        self.undo_timer.timeout.connect(self.commit_delete)
        self.search_timer = QTimer(window, singleShot=True, interval=SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self.run_search)
        s = self.sidebar
        s.rename.connect(self.rename)
        s.delete.connect(self.delete)
        s.pin.connect(self.pin)
        s.search_changed.connect(lambda _text: self.search_timer.start())
        s.undo_delete.connect(self.undo_delete)
        s.more_requested.connect(self.show_more)

    def _hidden(self) -> str | None:
        return self.pending_delete[0] if self.pending_delete else None

    def refresh(self) -> None:
        """Reload the list (or the search results, while searching)."""
        if self.sidebar.search.text().strip():
            self.run_search()
            return
        page = self.conversations.page(self.limit + 1)
        shown = [c for c in page[: self.limit] if c.id != self._hidden()]
        self.sidebar.show_conversations(shown, self.window.conversation_id, len(page) > self.limit)

    def show_more(self) -> None:
        """The list's last row: another page of older conversations."""
        self.limit += PAGE
        self.refresh()

    def rename(self, cid: str, title: str) -> None:
        """A title edited in place."""
        self.conversations.rename(cid, title)
        self.window.conversation_renamed(cid, title)
        QTimer.singleShot(0, self.refresh)

    def pin(self, cid: str, pinned: bool) -> None:
        """Keep a conversation at the top (or not)."""
        self.conversations.pin(cid, pinned)
        self.refresh()

    def delete(self, cid: str) -> None:
        """Hide a conversation now; delete it for good unless undone within seconds."""
        turns = self.window.turns
        if turns.current is not None and turns.current.conversation_id == cid:
            turns.stop()
        self.commit_delete()
        conversation = self.conversations.get(cid)
        if conversation is None:
            self.refresh()
            return
        title = conversation.title
        self.pending_delete = (cid, title)
        self.undo_timer.start()
        self.sidebar.show_undo(title)
        self.refresh()
        if cid == self.window.conversation_id:
            self.window.conversation_gone(cid)

    def take_pending_delete(self) -> str | None:
        """End the undo offer; the id of the conversation it was for, if any."""
        if self.pending_delete is None:
            return None
        cid = self.pending_delete[0]
        self.pending_delete = None
        self.undo_timer.stop()
        self.sidebar.hide_undo()
        return cid

    def undo_delete(self) -> None:
        """Bring back the conversation deleted last."""
        cid = self.take_pending_delete()
        if cid is None:
            return
        self.refresh()
        self.window.open_conversation(cid)

    def commit_delete(self) -> None:
        """The undo offer expired (or the window closes): delete for good."""
        cid = self.take_pending_delete()
        if cid is None:
            return
        self.conversations.delete(cid)

    def focus_search(self) -> None:
        """Ctrl+F: jump to the search box."""
        self.sidebar.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.sidebar.search.selectAll()

    def run_search(self) -> None:
        """Full-text search over titles and messages (empty text: the normal list)."""
        text = self.sidebar.search.text().strip()
        if not text:
            self.refresh()
            return
        hits = self.conversations.search(text, SEARCH_LIMIT)
        self.sidebar.show_hits([h for h in hits if h.conversation_id != self._hidden()])
