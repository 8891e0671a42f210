"""Where a growing Markdown reply can be cut: finished pieces versus the still-changing tail.

A block is finished once a blank line follows it outside any code fence. Inside a code block
that is still open, every CODE_CHUNK_LINES complete lines also make a cut, so a long code
block is highlighted piece by piece instead of all over again at every frame. Only the tail
after the last cut is re-rendered per frame; the cuts only ever move forward as text arrives.
"""

from __future__ import annotations

from chatdesk.markdown_fences import FENCE, closes

CODE_CHUNK_LINES = 20


def split_stable(text: str) -> tuple[str, str]:
    """(finished prefix, tail still being written)."""
    cut = 0
    position = 0
    opener: str | None = None
    code_lines = 0
    for line in text.splitlines(keepends=True):
        position += len(line)
        match = FENCE.match(line)
        if match and opener is None:
            opener, code_lines = line.strip(), 0
        elif match and opener is not None and closes(opener, match.group(1), line):
            opener = None
        elif opener is None:
            if not line.strip() and line.endswith("\n"):
                cut = position
        elif line.endswith("\n"):
            code_lines += 1
            if code_lines % CODE_CHUNK_LINES == 0:
                cut = position
    return text[:cut], text[cut:]
