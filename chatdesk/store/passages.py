"""The document passages stored with a reply (``message_passages``, migration 0009).

A reply written with documents keeps the numbered passages its prompt carried, so its
``[1]``, ``[2]`` can be shown, checked and exported later. Passages are plain dicts with
the keys of ``chatdesk.docs.context.Passage.to_dict`` (the store does not depend on the
documents package); deleting the message deletes them (foreign key cascade).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatdesk.store.base import StoreBase, synchronized

PASSAGE_KEYS = ("number", "file", "page", "line_start", "line_end", "score", "text")


class PassagesMixin(StoreBase):
    """Saving and reading the passages of replies."""

    @synchronized
    def save_passages(self, message_id: str, passages: Sequence[dict[str, Any]]) -> None:
        """Store (replacing any earlier) passages of a message."""
        with self._db.atomic():
            self._write("DELETE FROM message_passages WHERE message_id = ?", [message_id])
            for passage in passages:
                self._write(
                    "INSERT INTO message_passages (message_id, number, file, page, line_start, "
                    "line_end, score, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [message_id, *(passage[key] for key in PASSAGE_KEYS)],
                )

    @synchronized
    def passages(self, message_id: str) -> list[dict[str, Any]]:
        """The passages of one message, by number (empty when it has none)."""
        rows = self._rows(
            f"SELECT {', '.join(PASSAGE_KEYS)} FROM message_passages WHERE message_id = ? "
            "ORDER BY number",
            [message_id],
        )
        return [dict(zip(PASSAGE_KEYS, row, strict=True)) for row in rows]

    @synchronized
    def conversation_passages(self, conversation_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every message's passages in a conversation, keyed by message id."""
        rows = self._rows(
            f"SELECT p.message_id, {', '.join('p.' + key for key in PASSAGE_KEYS)} "
            "FROM message_passages p JOIN messages m ON m.id = p.message_id "
            "WHERE m.conversation_id = ? ORDER BY p.message_id, p.number",
            [conversation_id],
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for message_id, *values in rows:
            found.setdefault(message_id, []).append(dict(zip(PASSAGE_KEYS, values, strict=True)))
        return found
