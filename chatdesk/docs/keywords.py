"""Keyword retrieval: FTS5 over chunk text, bm25-ranked, no model needed.

A question is turned into an OR of its words, each quoted as a phrase (so no user text is
ever FTS5 syntax). Words found in more than ``COMMON_SHARE`` of all chunks ("the", "is",
"what") are left out when rarer words remain: they add almost nothing to bm25 but cost a
walk over most of the index, which is what keeps a query over 100,000 chunks fast. Word
counts come from the ``fts5vocab`` table, one lookup per word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatdesk.docs.index import DocumentIndex
from chatdesk.docs.records import Collection
from chatdesk.store.search import fold

WORD = re.compile(r"[^\W_]+")
COMMON_SHARE = 0.2
MAX_WORDS = 24
CANDIDATES = 50


def query_words(text: str) -> list[str]:
    """The distinct folded words of a query, in order, at most MAX_WORDS."""
    words = dict.fromkeys(fold(word) for word in WORD.findall(text))
    return list(words)[:MAX_WORDS]


def informative_words(index: DocumentIndex, words: list[str]) -> list[str]:
    """The words worth searching for: the common ones dropped unless nothing else is left."""
    if not words:
        return []
    with index.lock:
        total = index.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        marks = ",".join("?" * len(words))
        counts = dict(
            index.conn.execute(
                f"SELECT term, doc FROM chunks_vocab WHERE term IN ({marks})", words
            ).fetchall()
        )
    present = [word for word in words if counts.get(word)]
    rare = [word for word in present if counts[word] <= COMMON_SHARE * max(total, 1)]
    return rare or present


def keyword_search(
    index: DocumentIndex, collections: Sequence[Collection], text: str, limit: int = CANDIDATES
) -> list[tuple[int, float]]:
    """(chunk id, bm25 score, higher is better) of the best keyword matches."""
    words = informative_words(index, query_words(text))
    if not words or not collections:
        return []
    expression = " OR ".join(f'"{word}"' for word in words)
    marks = ",".join("?" * len(collections))
    with index.lock:
        rows = index.conn.execute(
            "SELECT c.id, bm25(chunks_fts) AS s FROM chunks_fts JOIN chunks c "
            "ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id "
            f"WHERE chunks_fts MATCH ? AND f.collection_id IN ({marks}) ORDER BY s LIMIT ?",
            [expression, *(c.id for c in collections), limit],
        ).fetchall()
    return [(int(ident), -float(score)) for ident, score in rows]
