"""Full-text search over conversation titles and message content (FTS5, bm25-ranked).

User text never reaches FTS5's query syntax: it is split into words, each quoted as a
phrase (so ``"``, ``*``, ``-``, ``NEAR``, ``AND`` mean nothing special), and the last
word matches as a prefix so results appear while typing.
"""

from __future__ import annotations

import re

from chatdesk.store.base import StoreBase, synchronized
from chatdesk.store.models import SearchHit

WORD = re.compile(r"\w+")
TITLE_WEIGHT = 2.0  # a title match counts as much as twice the same match in a message
SNIPPET_TOKENS = 16
ELLIPSIS = "…"


def fts_query(text: str) -> str | None:
    """A safe FTS5 MATCH expression for free text; None when it holds no words at all."""
    words = WORD.findall(text.replace("\x00", " "))
    if not words:
        return None
    phrases = [f'"{word}"' for word in words]  # \w+ never contains a double quote
    phrases[-1] += "*"
    return " ".join(phrases)


class SearchMixin(StoreBase):
    """The search part of ``Store``."""

    @synchronized
    def search(
        self, text: str, limit: int = 20, *, highlight: tuple[str, str] = ("[", "]")
    ) -> list[SearchHit]:
        """Conversations whose title or messages match every word of ``text``, best first.

        Messages still being streamed are not searchable until their status changes.
        """
        query = fts_query(text)
        if query is None or limit <= 0:
            return []
        start, end = highlight
        hits = self._title_hits(query, limit, start, end)
        hits += self._message_hits(query, limit, start, end)
        hits.sort(key=lambda hit: hit.rank)
        return hits[:limit]

    def _title_hits(self, query: str, limit: int, start: str, end: str) -> list[SearchHit]:
        rows = self._rows(
            "SELECT c.id, c.title, highlight(conversations_fts, 0, ?, ?),"
            " bm25(conversations_fts) * ? AS score"
            " FROM conversations_fts JOIN conversations AS c ON c.seq = conversations_fts.rowid"
            " WHERE conversations_fts MATCH ? ORDER BY score LIMIT ?",
            [start, end, TITLE_WEIGHT, query, limit],
        )
        return [SearchHit(cid, None, title, snippet, score) for cid, title, snippet, score in rows]

    def _message_hits(self, query: str, limit: int, start: str, end: str) -> list[SearchHit]:
        rows = self._rows(
            "SELECT c.id, m.id, c.title, hit.snippet, hit.score FROM ("
            "  SELECT rowid, snippet(messages_fts, 0, ?, ?, ?, ?) AS snippet, rank AS score"
            "  FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?"
            ") AS hit JOIN messages AS m ON m.seq = hit.rowid"
            " JOIN conversations AS c ON c.id = m.conversation_id ORDER BY hit.score",
            [start, end, ELLIPSIS, SNIPPET_TOKENS, query, limit],
        )
        return [SearchHit(*row) for row in rows]
