"""The conversation list: grouped by date (Today, Yesterday, Previous 7 days, Older), pinned
on top, full-text search, rename, delete. Each title is one line, shortened with "…" (the
whole title is its tooltip). The top bar's sidebar button (Ctrl+B) hides the whole list."""

from __future__ import annotations

import datetime as dt
import functools

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.types import Conversation, SearchHit
from chatdesk.ui.icon_buttons import icon_button
from chatdesk.ui.icons import icon
from chatdesk.ui.search_hits import HTML_ROLE, hit_html, plain_text
from chatdesk.ui.search_hits import install as install_hit_delegate
from chatdesk.ui.theme import set_icon

ID_ROLE = Qt.ItemDataRole.UserRole
MESSAGE_ROLE = Qt.ItemDataRole.UserRole + 1
MORE_ROLE = Qt.ItemDataRole.UserRole + 2
PAGE = 200


def day_group(when: dt.datetime | str | float, today: dt.date | None = None) -> str:
    """The heading a conversation sits under: Today, Yesterday, Previous 7 days, Older."""
    moment = local_time(when) if isinstance(when, str) else as_datetime(when)
    today = today or dt.date.today()
    days = (today - moment.date()).days
    if days <= 0:
        return "Today"
    if days == 1:
        return "Yesterday"
    if days < 7:
        return "Previous 7 days"
    return "Older"


@functools.lru_cache(maxsize=4096)
def local_time(timestamp: str) -> dt.datetime:
    """A store timestamp in local time (cached: the list is rebuilt after every reply)."""
    return as_datetime(timestamp)


def as_datetime(value: dt.datetime | str | float) -> dt.datetime:
    """A timestamp from the store (datetime, ISO text or epoch seconds), in local time."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
    else:
        moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment


class Sidebar(QWidget):
    """Search box, list of conversations, New chat button, undo bar for deletions."""

    open_conversation = Signal(str, object)  # conversation id, message id to show (or None)
    new_chat = Signal()
    rename = Signal(str, str)
    delete = Signal(str)
    pin = Signal(str, bool)
    search_changed = Signal(str)
    undo_delete = Signal()
    more_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 8, 8, 8)
        self.new_button = icon_button(self, "new-chat", "New chat", "Ctrl+N", text="New chat")
        self.new_button.setObjectName("newChatButton")
        self.new_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.new_button.clicked.connect(self.new_chat)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search conversations (Ctrl+F)")
        self.search.setAccessibleName("Search conversations")
        self.search.setClearButtonEnabled(True)
        glass = self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        set_icon(glass, "search")  # re-tinted with the theme
        for button in self.search.findChildren(QToolButton):  # the icon and the clear button
            button.setAccessibleName(button.accessibleName() or "Search")
        self.search.textChanged.connect(self.search_changed)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Conversations")
        self.list.setWordWrap(False)  # one line a conversation: a wrapped title looked like two
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)  # the tooltip has it whole
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        install_hit_delegate(self.list)  # search hits: the matched words highlighted
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        self.list.itemChanged.connect(self._renamed)
        for widget in (self.new_button, self.search, self.list):
            column.addWidget(widget)
        column.addWidget(self._undo_bar())
        self._add_key_actions()
        self._current: str | None = None
        self._filling = False

    # -- content ------------------------------------------------------------------
    def show_conversations(
        self, conversations: list[Conversation], current: str | None, more: bool = False
    ) -> None:
        """The list, pinned first, then grouped by the day each was last updated.

        ``more``: there are older conversations; a last row offers to show them.
        """
        self._filling = True
        self.list.clear()
        self._current = current
        heading = None
        for conversation in conversations:
            group = "Pinned" if conversation.pinned else day_group(conversation.updated_at)
            if group != heading:
                self._add_heading(group)
                heading = group
            self._add_item(conversation.title, conversation.id, None, editable=True)
        if more:
            item = QListWidgetItem("Show older conversations...")
            item.setData(MORE_ROLE, True)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            self.list.addItem(item)
        self._filling = False

    def show_hits(self, hits: list[SearchHit]) -> None:
        """Search results: each title with the matching snippet."""
        self._filling = True
        self.list.clear()
        self._add_heading(f"{len(hits)} result{'s' if len(hits) != 1 else ''}")
        for hit in hits:
            item = self._add_item(
                f"{hit.title}\n{plain_text(hit.snippet)}", hit.conversation_id, hit.message_id
            )
            item.setData(HTML_ROLE, hit_html(hit.title, hit.snippet))  # matched words marked
        self._filling = False

    def select(self, conversation_id: str | None) -> None:
        """Highlight the open conversation."""
        self._current = conversation_id
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(ID_ROLE) == conversation_id and item.data(MESSAGE_ROLE) is None:
                self.list.setCurrentItem(item)
                return

    def start_rename(self, conversation_id: str | None = None) -> None:
        """Edit the title in place (F2)."""
        item = self._item_for(conversation_id) if conversation_id else self.list.currentItem()
        if item is not None and item.flags() & Qt.ItemFlag.ItemIsEditable:
            self.list.editItem(item)

    def show_undo(self, title: str) -> None:
        """Offer to bring back a conversation that was just deleted."""
        self._undo_label.setText(f"Deleted “{title}”")
        self._undo.show()

    def hide_undo(self) -> None:
        """The undo offer has expired."""
        self._undo.hide()

    # -- building -----------------------------------------------------------------
    def _undo_bar(self) -> QWidget:
        self._undo = QWidget(self)
        self._undo.setObjectName("undoBar")
        row = QHBoxLayout(self._undo)
        row.setContentsMargins(4, 4, 4, 4)
        self._undo_label = QLabel(self._undo)
        self._undo_label.setWordWrap(True)
        button = QPushButton("Undo", self._undo)
        button.setAccessibleName("Undo delete")
        button.clicked.connect(self.undo_delete)
        row.addWidget(self._undo_label, 1)
        row.addWidget(button)
        self._undo.hide()
        return self._undo

    def _add_key_actions(self) -> None:
        # F2 (rename) is a window-wide shortcut; Delete only acts inside the list.
        action = QAction(self.list)
        action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(self._delete_current)
        self.list.addAction(action)

    def _add_heading(self, text: str) -> None:
        item = QListWidgetItem(text)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        font = item.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 0.85)
        item.setFont(font)
        self.list.addItem(item)

    def _add_item(
        self, text: str, cid: str, mid: str | None, editable: bool = False
    ) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setData(ID_ROLE, cid)
        item.setData(MESSAGE_ROLE, mid)
        item.setToolTip(text)
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if editable:
            flags |= Qt.ItemFlag.ItemIsEditable
        item.setFlags(flags)
        self.list.addItem(item)
        if cid == self._current and mid is None:
            self.list.setCurrentItem(item)
        return item

    def conversation_ids(self) -> list[str]:
        """The conversations listed, top to bottom (headings and search hits aside)."""
        ids = []
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(ID_ROLE) is not None and item.data(MESSAGE_ROLE) is None:
                ids.append(str(item.data(ID_ROLE)))
        return list(dict.fromkeys(ids))

    def _item_for(self, conversation_id: str) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(ID_ROLE) == conversation_id and item.data(MESSAGE_ROLE) is None:
                return item
        return None

    # -- reactions ----------------------------------------------------------------
    def _activated(self, item: QListWidgetItem) -> None:
        if item.data(MORE_ROLE):
            self.more_requested.emit()
            return
        cid = item.data(ID_ROLE)
        if cid is not None:
            self.open_conversation.emit(str(cid), item.data(MESSAGE_ROLE))

    def _renamed(self, item: QListWidgetItem) -> None:
        cid = item.data(ID_ROLE)
        if self._filling or cid is None or item.data(MESSAGE_ROLE) is not None:
            return
        title = " ".join(item.text().split())
        if title:
            self.rename.emit(str(cid), title)

    def _delete_current(self) -> None:
        item = self.list.currentItem()
        if item is not None and item.data(ID_ROLE) is not None:
            self.delete.emit(str(item.data(ID_ROLE)))

    def _menu(self, point: QPoint) -> None:
        item = self.list.itemAt(point)
        if item is None or item.data(ID_ROLE) is None:
            return
        cid = str(item.data(ID_ROLE))
        menu = QMenu(self)
        menu.addAction(icon("edit"), "Rename", lambda: self.list.editItem(item))
        pinned = self._is_pinned(item)
        menu.addAction(
            icon("pin"), "Unpin" if pinned else "Pin", lambda: self.pin.emit(cid, not pinned)
        )
        menu.addAction(icon("delete"), "Delete", lambda: self.delete.emit(cid))
        menu.exec(self.list.viewport().mapToGlobal(point))

    def _is_pinned(self, item: QListWidgetItem) -> bool:
        for row in range(self.list.row(item), -1, -1):
            candidate = self.list.item(row)
            if candidate.data(ID_ROLE) is None:
                return candidate.text() == "Pinned"
        return False
