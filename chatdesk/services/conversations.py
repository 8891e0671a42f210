"""The conversation list: pages, search, rename, pin, delete, and changes made elsewhere.

The sidebar calls this service, never the store. ``changed_elsewhere()`` is the live-sidebar
check: SQLite's ``data_version`` moves only when another connection (a ``chatdesk ask`` in a
terminal, say) commits, so the window can ask it once a second for almost nothing and
refresh the list only when something really changed.

``resolve_id`` is the one conversation-id rule, for every command that takes an id
(``chatdesk show``, ``export``, ``rm``, ``ask --conversation``): a full id, or a prefix
that starts exactly one id; otherwise ``ConversationIdError`` says why in words.
"""

from __future__ import annotations

import contextlib
import logging

from chatdesk.store import Conversation, Message, NotFoundError, SearchHit, Store

log = logging.getLogger("chatdesk.conversations")
SEARCH_MARKS = ("\ue000", "\ue001")  # around matched words in search snippets
KEPT_SETTINGS = ("reply_format",)  # settings kept by features, not by the settings panel


class ConversationIdError(LookupError):
    """A conversation id (or prefix) that names no conversation, or more than one."""


class ConversationsService:
    """Listing and managing conversations."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._seen_version = store.data_version()

    def page(self, limit: int) -> list[Conversation]:
        """The newest ``limit`` conversations (pinned first)."""
        return self.store.list_conversations(limit=limit, offset=0)

    def empty_conversation(self) -> Conversation | None:
        """The newest conversation without any message (a "New chat" not used yet)."""
        return next((c for c in self.page(50) if self.store.count_messages(c.id) == 0), None)

    def get(self, cid: str) -> Conversation | None:
        """The conversation, or None when it no longer exists."""
        try:
            return self.store.get_conversation(cid)
        except NotFoundError:
            return None

    def search(self, text: str, limit: int, marked: bool = True) -> list[SearchHit]:
        """Full-text search over titles and messages, best first; each matched word of a
        snippet is wrapped in ``SEARCH_MARKS`` (private-use characters) for highlighting
        when ``marked``, else in square brackets (as the command line prints them)."""
        if not marked:
            return self.store.search(text, limit=limit)
        return self.store.search(text, limit=limit, highlight=SEARCH_MARKS)

    def resolve_id(self, given: str) -> str:
        """A full conversation id from a full id or a unique prefix of one (the one rule)."""
        if not given:
            raise ConversationIdError("empty conversation id")
        matches = self.store.find_conversation_ids(given, limit=3)
        if given in matches:
            return given
        if not matches:
            raise ConversationIdError(f"no conversation with id {given!r} (see 'chatdesk list')")
        if len(matches) > 1:
            raise ConversationIdError(
                f"id {given!r} is ambiguous: it starts {', '.join(matches[:2])}, ..."
            )
        return matches[0]

    def conversation(self, cid: str) -> Conversation:
        """The conversation (``NotFoundError`` when there is none)."""
        return self.store.get_conversation(cid)

    def active_path(self, cid: str) -> list[Message]:
        """The messages of the branch the conversation shows, oldest first."""
        return self.store.active_path(cid)

    def siblings(self, message_id: str) -> list[Message]:
        """The message and its alternatives (same parent), oldest first."""
        return self.store.siblings(message_id)

    def count_messages(self, cid: str) -> int:
        """How many messages the conversation holds, all branches."""
        return self.store.count_messages(cid)

    def rename(self, cid: str, title: str) -> None:
        """Give a conversation a new title."""
        self.store.rename_conversation(cid, title)

    def pin(self, cid: str, pinned: bool) -> None:
        """Keep a conversation at the top of the list (or not)."""
        self.store.set_pinned(cid, pinned)

    def delete(self, cid: str) -> None:
        """Delete a conversation and its messages (already gone: nothing to do)."""
        with contextlib.suppress(NotFoundError):
            self.store.delete_conversation(cid)
            log.info("deleted conversation %s", cid)

    def set_active_leaf(self, cid: str, message_id: str) -> None:
        """Show the branch that ends at (or passes through) ``message_id``."""
        self.store.set_active_leaf(cid, message_id)

    def save_settings(self, cid: str, system_prompt: str, settings: dict[str, object]) -> None:
        """Store a conversation's system prompt and sampling settings (its reply format,
        kept in the same settings by ``services/structured.py``, stays as it is)."""
        stored = self.store.get_conversation(cid).settings or {}
        kept = {k: stored[k] for k in KEPT_SETTINGS if k in stored and k not in settings}
        self.store.update_conversation(
            cid, system_prompt=system_prompt, settings={**settings, **kept}
        )

    def changed_elsewhere(self) -> bool:
        """True once after another process committed to the database."""
        version = self.store.data_version()
        changed, self._seen_version = version != self._seen_version, version
        return changed
