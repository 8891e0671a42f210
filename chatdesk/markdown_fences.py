"""Code fences in Markdown text: which one is still open, and how to close it.

Qt-free and shared: the chat view closes a fence while a reply streams, and the Markdown
export closes a fence a finished reply left open so the rest of the document is not code.
"""

from __future__ import annotations

import re

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def open_fence(text: str) -> str | None:
    """The opening line of a code fence still open at the end of ``text``, if any."""
    opener: str | None = None
    for line in text.splitlines():
        match = FENCE.match(line)
        if not match:
            continue
        marker = match.group(1)
        if opener is None:
            opener = line.strip()
        elif closes(opener, marker, line):
            opener = None
    return opener


def fence_marker(opener: str) -> str:
    """The run of backticks or tildes an opening fence line starts with."""
    return opener[: len(opener) - len(opener.lstrip(opener[0]))]


def closes(opener: str, marker: str, line: str) -> bool:
    """True when a fence line closes the block opened by ``opener`` (the line may keep its
    line end and the spaces CommonMark allows around the marker)."""
    opening = fence_marker(opener)
    rest = line.strip().strip(marker[0])
    return marker[0] == opening[0] and len(marker) >= len(opening) and not rest


def close_open_fence(text: str) -> str:
    """Close a code fence left open, so what follows is not swallowed as code."""
    opener = open_fence(text)
    if opener is None:
        return text
    marker = fence_marker(opener)
    return f"{text}{marker}" if text.endswith("\n") else f"{text}\n{marker}"
