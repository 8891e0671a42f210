"""What a reply's ``[1]``, ``[2]`` point to: the cited passages, their labels, snippets and
the address that opens the file (at the page where the viewer supports ``#page=N``).

Model output is untrusted: only numbers that match a passage given to the model become
citations, each once, in the order the reply first cites them; ``[7]`` with five passages
is left as text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from chatdesk.docs.records import Passage

CITATION = re.compile(r"\[(\d{1,3})\]")
SNIPPET_CHARS = 300


def cited(reply: str, passages: Sequence[Passage]) -> list[Passage]:
    """The passages the reply cites, in order of first citation."""
    by_number = {p.number: p for p in passages}
    seen: dict[int, Passage] = {}
    for match in CITATION.finditer(reply):
        number = int(match.group(1))
        if number in by_number and number not in seen:
            seen[number] = by_number[number]
    return list(seen.values())


def snippet(passage: Passage, limit: int = SNIPPET_CHARS) -> str:
    """The passage's text on one line, cut at a word near ``limit`` characters."""
    text = " ".join(passage.text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit] + "…"


def file_url(passage: Passage) -> str:
    """``file:///...`` of the passage's file, with ``#page=N`` for a PDF page."""
    url = Path(passage.file).resolve().as_uri()
    if passage.page is not None and passage.file.lower().endswith(".pdf"):
        url += f"#page={passage.page}"
    return url
