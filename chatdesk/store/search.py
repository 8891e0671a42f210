"""Full-text search over conversation titles and message content (FTS5, bm25-ranked).

User text never reaches FTS5's query syntax: it is split into words, each quoted as a
phrase (so ``"``, ``*``, ``-``, ``NEAR``, ``AND`` mean nothing special), and the last
word (of two letters or more) matches as a prefix so results appear while typing. Chinese,
Japanese and Korean characters are indexed one by one (``chatdesk.store.unspaced``), so a
run of them is a phrase of its characters: it matches anywhere inside a sentence.

Ranking every match of a very common word costs time in proportion to the number of
matches (hundreds of milliseconds over 200,000 messages), so hits are ranked by bm25
among the ``RANKED_CANDIDATES`` most recent matches of each table: exact for any query
with fewer matches, and a recency-first choice for words found nearly everywhere.
Snippets are cut in Python from the hits' text (FTS5's ``snippet()`` would re-run the
query once per hit, which for a prefix query means re-reading whole posting lists).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from chatdesk.store.base import StoreBase, synchronized
from chatdesk.store.models import SearchHit
from chatdesk.store.unspaced import UNSPACED, phrase, pieces, unspaced

QUERY_WORD = re.compile(r"\w+")
# what the full-text indexes call a token: a word, or one Chinese, Japanese or Korean
# character (the triggers index them spaced out: chatdesk.store.unspaced)
TOKEN = re.compile(rf"[{UNSPACED}]|[^\W_{UNSPACED}]+")
TITLE_WEIGHT = 2.0  # a title match counts as much as twice the same match in a message
RANKED_CANDIDATES = 2000
SNIPPET_TOKENS = 16
SNIPPET_LEAD = 4  # tokens shown before the first match
ELLIPSIS = "…"
MIN_PREFIX = 2
MAX_WORDS = 32  # more words than this are ignored (every word must match anyway)


def fold(text: str) -> str:
    """Case- and diacritic-insensitive form of a word, as the FTS5 tokenizer compares them."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass(frozen=True)
class Query:
    """Free text turned into an FTS5 expression and the terms to highlight."""

    fts: str
    terms: frozenset[str]
    prefix: str | None
    runs: tuple[str, ...] = ()  # runs of Chinese, Japanese or Korean characters, as typed

    @classmethod
    def parse(cls, text: str) -> Query | None:
        """None when the text holds no words at all. A run of Chinese, Japanese or Korean
        characters matches anywhere in a message (its characters in a row), never as a
        prefix; the last other word also matches as a prefix."""
        words = QUERY_WORD.findall(text)[:MAX_WORDS]
        if not words:
            return None
        split = [piece for word in words for piece in pieces(word)]
        runs = tuple(piece for piece in split if unspaced(piece))
        # \w+ never contains a double quote
        phrases = [f'"{phrase(piece)}"' if unspaced(piece) else f'"{piece}"' for piece in split]
        prefix = None
        if not unspaced(split[-1]) and len(split[-1]) >= MIN_PREFIX:
            phrases[-1] += "*"
            prefix = fold(split[-1])
        others = [piece for piece in split if not unspaced(piece)]
        terms = frozenset(fold(token) for piece in others for token in TOKEN.findall(piece))
        return cls(" ".join(phrases), terms, prefix, runs)

    def matches(self, token: str) -> bool:
        folded = fold(token)
        return folded in self.terms or (self.prefix is not None and folded.startswith(self.prefix))


def snippet(text: str, query: Query, marks: tuple[str, str], size: int = SNIPPET_TOKENS) -> str:
    """A one-line excerpt of ``text`` around its first match, matches wrapped in ``marks``."""
    tokens = list(TOKEN.finditer(text))
    if not tokens:
        return " ".join(text.split())[:200]
    hits = {n for n, token in enumerate(tokens) if query.matches(token.group())}
    hits |= run_hits(tokens, query.runs)
    first = max(0, min(hits) - SNIPPET_LEAD) if hits else 0
    last = min(len(tokens), first + size)
    cursor = 0 if first == 0 else tokens[first].start()
    parts = []
    for n in range(first, last):
        token = tokens[n]
        parts.append(text[cursor : token.start()])
        joins = [n > first and touching(tokens, n - 1, hits), touching(tokens, n, hits)]
        opened = marks[0] if n in hits and not joins[0] else ""
        closed = marks[1] if n in hits and not (joins[1] and n + 1 < last) else ""
        parts.append(f"{opened}{token.group()}{closed}")
        cursor = token.end()
    if last == len(tokens):
        parts.append(text[cursor:])
    excerpt = " ".join("".join(parts).split())
    lead = ELLIPSIS if first > 0 else ""
    tail = ELLIPSIS if last < len(tokens) else ""
    return f"{lead}{excerpt}{tail}"


def run_hits(tokens: list[re.Match[str]], runs: tuple[str, ...]) -> set[int]:
    """The tokens (single characters) where a run of those scripts is spelled out."""
    found: set[int] = set()
    chars = [token.group() for token in tokens]
    for run in runs:
        for start in range(len(tokens) - len(run) + 1):
            end = start + len(run)
            if "".join(chars[start:end]) == run and all(
                touching(tokens, n, set(range(start, end))) for n in range(start, end - 1)
            ):
                found.update(range(start, end))
    return found


def touching(tokens: list[re.Match[str]], n: int, hits: set[int]) -> bool:
    """True when tokens ``n`` and ``n + 1`` are both hits with nothing between them (one
    highlight then covers both: the characters of a run)."""
    following = n + 1
    if n not in hits or following not in hits or following >= len(tokens):
        return False
    return tokens[n].end() == tokens[following].start()


def best_matches(table: str) -> str:
    """SQL for (rowid, score) of the best matches among the most recent candidates."""
    return (
        f"SELECT rowid, score FROM (SELECT rowid, bm25({table}) AS score FROM {table}"
        f" WHERE {table} MATCH :query ORDER BY rowid DESC LIMIT {RANKED_CANDIDATES})"
        " ORDER BY score, rowid DESC LIMIT :limit"
    )


class SearchMixin(StoreBase):
    """The search part of ``Store``."""

    @synchronized
    def search(
        self, text: str, limit: int = 20, *, highlight: tuple[str, str] = ("[", "]")
    ) -> list[SearchHit]:
        """Conversations whose title or messages match every word of ``text``, best first.

        ``highlight`` wraps each matched word in the snippet. Messages still being
        streamed are not searchable until their status changes.
        """
        query = Query.parse(text)
        if query is None or limit <= 0:
            return []
        hits = self._title_hits(query, limit, highlight)
        hits += self._message_hits(query, limit, highlight)
        hits.sort(key=lambda hit: hit.rank)
        return hits[:limit]

    def _title_hits(self, query: Query, limit: int, marks: tuple[str, str]) -> list[SearchHit]:
        ranked = self._ranked("conversations_fts", query, limit)
        rows = self._rows_by_seq(
            "SELECT seq, id, title FROM conversations WHERE seq IN ({})", list(ranked)
        )
        return [
            SearchHit(
                cid, None, title, snippet(title, query, marks, 64), ranked[seq] * TITLE_WEIGHT
            )
            for seq, cid, title in rows
        ]

    def _message_hits(self, query: Query, limit: int, marks: tuple[str, str]) -> list[SearchHit]:
        ranked = self._ranked("messages_fts", query, limit)
        rows = self._rows_by_seq(
            "SELECT m.seq, c.id, m.id, c.title, m.content FROM messages AS m"
            " JOIN conversations AS c ON c.id = m.conversation_id WHERE m.seq IN ({})",
            list(ranked),
        )
        return [
            SearchHit(cid, mid, title, snippet(content, query, marks), ranked[seq])
            for seq, cid, mid, title, content in rows
        ]

    def _ranked(self, table: str, query: Query, limit: int) -> dict[int, float]:
        """rowid -> bm25 score of the best matches, best first."""
        rows = self._db.execute(best_matches(table), {"query": query.fts, "limit": limit})
        return {int(seq): float(score) for seq, score in rows.fetchall()}

    def _rows_by_seq(self, sql: str, seqs: list[int]) -> list[tuple]:
        if not seqs:
            return []
        return self._rows(sql.format(", ".join("?" * len(seqs))), seqs)
