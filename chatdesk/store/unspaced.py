"""Full-text search in scripts written without spaces between words: Chinese, Japanese, and
Korean, whose words carry their particles (학교에서, "at school").

FTS5's ``unicode61`` tokenizer ends a token only at a space or punctuation, so a Chinese
sentence was one token and no search ever matched inside it. Every full-text index of
ChatDesk (the conversations' titles and messages, the documents' chunks) therefore holds
each of these characters as a token of its own: its triggers index ``spaced(text)``, through
the SQL function ``SPACED_FUNCTION`` that each connection registers (``register``). A query
splits its words into ``pieces``; a run of those characters is searched by its characters
in a row (``phrase``: the run anywhere, as the sidebar's search wants) or by its pairs of
characters (``pairs``: how retrieval ranks passages that share most of a question's words,
since most words are two characters or contain a pair). Those runs are never decomposed as
other words are (``fold`` would turn 학 into its letters and drop the voicing mark of が,
which the index keeps).
"""

from __future__ import annotations

import itertools
import re
import sqlite3

# Hiragana and Katakana, CJK ideographs (extension A, the unified block, compatibility),
# Hangul syllables
UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CHARACTER = re.compile(f"[{UNSPACED}]")
PIECE = re.compile(f"[{UNSPACED}]+|[^{UNSPACED}]+")
SPACED_FUNCTION = "chatdesk_spaced"  # the SQL name of ``spaced``


def spaced(text: str) -> str:
    """``text`` with a space on each side of every character of those scripts (FTS5 then
    makes each its own token); other text unchanged."""
    if not isinstance(text, str) or not CHARACTER.search(text):
        return text
    return CHARACTER.sub(lambda match: f" {match.group()} ", text)


def register(conn: sqlite3.Connection) -> None:
    """Let ``conn`` run the triggers that index ``spaced`` text."""
    conn.create_function(SPACED_FUNCTION, 1, spaced, deterministic=True)


def pieces(word: str) -> list[str]:
    """A query word split into runs of those characters and runs of other letters."""
    return PIECE.findall(word)


def unspaced(piece: str) -> bool:
    """True for a run of those characters."""
    return bool(CHARACTER.match(piece))


def phrase(run: str) -> str:
    """A run's characters as one FTS5 phrase (inside quotes): the run, anywhere."""
    return " ".join(run)


def pairs(run: str) -> list[str]:
    """A run's overlapping pairs of characters, each an FTS5 phrase ("大 海"); a lone
    character as itself."""
    if len(run) == 1:
        return [run]
    return [f"{first} {second}" for first, second in itertools.pairwise(run)]
