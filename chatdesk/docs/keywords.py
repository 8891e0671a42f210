"""Keyword retrieval: FTS5 over chunk text, bm25-ranked, no model needed.

A question is turned into an OR of its words, each quoted as a phrase (so no user text is
ever FTS5 syntax). English stop words are left out when other words remain, and in a large
index (``LARGE_INDEX`` chunks or more) so are words found in more than ``COMMON_SHARE`` of
all chunks: they add little to bm25 but cost a walk over a long list of matches, which is
what keeps a query over 100,000 chunks fast. Word
counts come from the ``fts5vocab`` table, one lookup per word, cached until the index
changes.

The index holds every collection. Ranking first over all of it and keeping the best
``WIDE`` matches of the asked collections is about four times faster than joining every
match to its file (measured: 9 against 35 ms for 8,000 matches); only when fewer than
``limit`` of those ``WIDE`` belong to the asked collections is the exact join run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatdesk.docs.index import DocumentIndex
from chatdesk.docs.records import Collection
from chatdesk.store.search import fold
from chatdesk.store.unspaced import pairs, pieces, unspaced

WORD = re.compile(r"[^\W_]+")
COMMON_SHARE = 0.05
LARGE_INDEX = 10_000  # chunks; below this every word is searched (it is fast anyway)
MAX_WORDS = 24
CANDIDATES = 50
COUNT_CACHE = 10_000
_COUNTS: dict[tuple[str, int, str], int] = {}
STOPWORD_TEXT = (
    "a an and are as at be but by for from has have how i in is it its of on or that the "
    "their there this to was were what when where which who why will with"
)
STOPWORDS = frozenset(STOPWORD_TEXT.split())
WIDE = 500  # best matches over all collections, filtered to the asked ones afterwards


def query_words(text: str) -> list[str]:
    """The distinct folded words of a query, in order, at most MAX_WORDS; Chinese,
    Japanese and Korean as pairs of characters (``chatdesk.store.unspaced``)."""
    words = dict.fromkeys(term for word in WORD.findall(text) for term in query_terms(word))
    return list(words)[:MAX_WORDS]


def query_terms(word: str) -> list[str]:
    """What one query word is searched by: itself folded, or for its runs of those scripts,
    their pairs of characters as two-token phrases ("大 海")."""
    terms: list[str] = []
    for piece in pieces(word):
        terms += pairs(piece) if unspaced(piece) else [fold(piece)]
    return terms


def informative_words(index: DocumentIndex, words: list[str]) -> list[str]:
    """The words worth searching for: the common ones dropped unless nothing else is left."""
    words = [word for word in words if word not in STOPWORDS] or words
    if not words:
        return []
    with index.lock:
        total = index.conn.execute("SELECT coalesce(sum(chunks), 0) FROM files").fetchone()[0]
    counts = {word: document_count(index, word) for word in words}
    present = [word for word in words if counts[word]]
    if total < LARGE_INDEX:
        return present
    rare = [word for word in present if counts[word] <= COMMON_SHARE * total]
    return rare or present


def document_count(index: DocumentIndex, word: str) -> int:
    """In how many chunks a word occurs (fts5vocab walks the word's list: cached)."""
    version = index.vectors_version()  # changes with every indexed file
    key = (str(index.path), version, word)
    if key not in _COUNTS:
        if len(_COUNTS) > COUNT_CACHE:
            _COUNTS.clear()
        if " " in word:  # a pair of characters: a phrase, not a term of the vocabulary
            sql, value = "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", f'"{word}"'
        else:
            sql, value = "SELECT doc FROM chunks_vocab WHERE term = ?", word
        with index.lock:
            row = index.conn.execute(sql, [value]).fetchone()
        _COUNTS[key] = int(row[0]) if row else 0
    return _COUNTS[key]


def keyword_search(
    index: DocumentIndex, collections: Sequence[Collection], text: str, limit: int = CANDIDATES
) -> list[tuple[int, float]]:
    """(chunk id, bm25 score, higher is better) of the best keyword matches."""
    words = informative_words(index, query_words(text))
    if not words or not collections:
        return []
    expression = " OR ".join(f'"{word}"' for word in words)
    with index.lock:
        rows = index.conn.execute(
            "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY s LIMIT ?",
            [expression, WIDE],
        ).fetchall()
    wanted = in_collections(index, [int(row[0]) for row in rows], collections)
    found = [(int(ident), -float(score)) for ident, score in rows if int(ident) in wanted]
    if len(found) >= limit or len(rows) < WIDE:
        return found[:limit]
    return joined_search(index, collections, expression, limit)


def in_collections(
    index: DocumentIndex, ids: list[int], collections: Sequence[Collection]
) -> set[int]:
    """Which of the chunk ids belong to the collections (all of them when the index holds
    no other collection)."""
    owners = ",".join("?" * len(collections))
    with index.lock:
        others = index.conn.execute(
            f"SELECT count(*) FROM collections WHERE id NOT IN ({owners})",
            [c.id for c in collections],
        ).fetchone()[0]
        if not others or not ids:
            return set(ids)
        files = {
            row[0]
            for row in index.conn.execute(
                f"SELECT id FROM files WHERE collection_id IN ({owners})",
                [c.id for c in collections],
            )
        }
        marks = ",".join("?" * len(ids))
        rows = index.conn.execute(
            f"SELECT id, file_id FROM chunks WHERE id IN ({marks})", ids
        ).fetchall()
    return {int(ident) for ident, file_id in rows if file_id in files}


def joined_search(
    index: DocumentIndex, collections: Sequence[Collection], expression: str, limit: int
) -> list[tuple[int, float]]:
    """The exact search within the collections (slower: a join for every match)."""
    marks = ",".join("?" * len(collections))
    with index.lock:
        rows = index.conn.execute(
            "SELECT c.id, bm25(chunks_fts) AS s FROM chunks_fts JOIN chunks c "
            "ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id "
            f"WHERE chunks_fts MATCH ? AND f.collection_id IN ({marks}) ORDER BY s LIMIT ?",
            [expression, *(c.id for c in collections), limit],
        ).fetchall()
    return [(int(ident), -float(score)) for ident, score in rows]
