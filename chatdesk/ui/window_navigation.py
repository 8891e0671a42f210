"""Moving between conversations as people expect from browsers and chat apps.

- Ctrl+Tab / Ctrl+PgDown / Alt+Down open the next conversation of the sidebar, and
  Ctrl+Shift+Tab / Ctrl+PgUp / Alt+Up the previous one (wrapping around);
- each conversation keeps its own unsent draft: what is typed in the composer stays with the
  conversation it was typed in (and comes back after a restart), instead of following the
  user into the next one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow

NEXT_KEYS = ("Ctrl+Tab", "Ctrl+PgDown", "Alt+Down")
PREVIOUS_KEYS = ("Ctrl+Shift+Tab", "Ctrl+PgUp", "Alt+Up")
DRAFTS_KEY = "drafts"  # the window's saved drafts, conversation id -> text


class ConversationNavigation(QObject):
    """The switching shortcuts and the per-conversation drafts of one window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        saved = window.services.settings.ui_value(DRAFTS_KEY, {})
        self.drafts: dict[str, str] = {
            str(k): v for k, v in (saved if isinstance(saved, dict) else {}).items()
            if isinstance(v, str)
        }  # fmt: skip
        for keys, step in ((NEXT_KEYS, 1), (PREVIOUS_KEYS, -1)):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), window)
                shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
                shortcut.activated.connect(lambda step=step: self.step(step))

    def step(self, step: int) -> None:
        """Open the next (1) or previous (-1) conversation in the sidebar's order."""
        order = self.window.sidebar.conversation_ids()
        if not order:
            return
        current = self.window.conversation_id
        index = order.index(current) + step if current in order else 0
        self.window.open_conversation(order[index % len(order)])

    def leave(self, conversation_id: str | None) -> None:
        """Keep the composer's text as the draft of the conversation being left."""
        if conversation_id is None:
            return
        text = self.window.composer.text.toPlainText()
        if text.strip():
            self.drafts[conversation_id] = text
        else:
            self.drafts.pop(conversation_id, None)

    def enter(self, conversation_id: str) -> None:
        """Show the draft of the conversation being opened (or an empty composer)."""
        self.window.composer.text.setPlainText(self.drafts.get(conversation_id, ""))

    def save(self) -> None:
        """Remember the drafts for the next start (called when the window closes)."""
        self.leave(self.window.conversation_id)
        self.window.services.settings.set_ui_value(DRAFTS_KEY, self.drafts)
