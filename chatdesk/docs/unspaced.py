"""Keyword search in scripts written without spaces between words: Chinese, Japanese, and
Korean, whose words carry their particles (학교에서, "at school").

FTS5's ``unicode61`` tokenizer ends a token only at a space or punctuation, so a Chinese
sentence was one token and no question ever matched inside it. The index therefore holds
each of these characters as a token of its own (``spaced``: the text FTS5 indexes, which
the index's triggers get through the SQL function ``SPACED_FUNCTION``), and a question's
runs of them become their overlapping pairs of characters (``query_terms``), each searched
as a two-token phrase: the usual way to search such text without a dictionary, since most
words are two characters or contain a pair. Other text is searched by its words, as before.
"""

from __future__ import annotations

import itertools
import re

from chatdesk.store.search import fold

# Hiragana and Katakana, CJK ideographs (extension A, the unified block, compatibility),
# Hangul syllables
UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CHARACTER = re.compile(f"[{UNSPACED}]")
PIECE = re.compile(f"[{UNSPACED}]+|[^{UNSPACED}]+")
SPACED_FUNCTION = "chatdesk_spaced"  # the SQL name of ``spaced``


def spaced(text: str) -> str:
    """``text`` with a space on each side of every character of those scripts (FTS5 then
    makes each its own token); other text unchanged."""
    if not CHARACTER.search(text):
        return text
    return CHARACTER.sub(lambda match: f" {match.group()} ", text)


def query_terms(word: str) -> list[str]:
    """What one query word is searched by: itself, folded as the index folds it, or for its
    runs of those scripts, their pairs of characters as two-token phrases ("大 海"), a lone
    character as itself. (Not folded: decomposing would turn 학 into its letters and drop
    the voicing mark of が, which the index keeps.)"""
    terms: list[str] = []
    for piece in PIECE.findall(word):
        if not CHARACTER.match(piece):
            terms.append(fold(piece))
        elif len(piece) == 1:
            terms.append(piece)
        else:
            terms += [f"{first} {second}" for first, second in itertools.pairwise(piece)]
    return terms
