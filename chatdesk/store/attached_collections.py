"""The document collections attached to a conversation (``attached_collections``, 0010).

Names only: the collections themselves live in the documents index (``documents.db``), so
the store does not depend on the documents package. Rows reference their conversation with
``ON DELETE CASCADE``: deleting a conversation forgets its attachments.
"""

from __future__ import annotations

from collections.abc import Sequence

from chatdesk.store.base import StoreBase, synchronized
from chatdesk.store.errors import NotFoundError


class AttachedCollectionsMixin(StoreBase):
    """Reading and replacing a conversation's attached collections."""

    @synchronized
    def attached_collections(self, conversation_id: str) -> list[str]:
        """The names attached to a conversation, in the order they were given."""
        rows = self._rows(
            "SELECT name FROM attached_collections WHERE conversation_id = ? ORDER BY position",
            [conversation_id],
        )
        return [row[0] for row in rows]

    @synchronized
    def set_attached_collections(self, conversation_id: str, names: Sequence[str]) -> None:
        """Attach exactly ``names`` (duplicates once; empty: none) to a conversation."""
        if self._row("SELECT 1 FROM conversations WHERE id = ?", [conversation_id]) is None:
            raise NotFoundError(f"no conversation with id {conversation_id!r}")
        with self.transaction():
            self._write(
                "DELETE FROM attached_collections WHERE conversation_id = ?", [conversation_id]
            )
            for position, name in enumerate(dict.fromkeys(names)):
                self._write(
                    "INSERT INTO attached_collections (conversation_id, position, name) "
                    "VALUES (?, ?, ?)",
                    [conversation_id, position, name],
                )
