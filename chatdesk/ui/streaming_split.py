"""Where a growing Markdown reply can be cut: finished blocks versus the still-changing tail.

A block is finished once a blank line follows it outside any code fence; everything after the
last such line may still change as tokens arrive, so only that tail is re-rendered per frame.
"""

from __future__ import annotations

from chatdesk.ui.rendering import FENCE


def split_stable(text: str) -> tuple[str, str]:
    """(finished prefix ending in a blank line, tail still being written)."""
    cut = 0
    position = 0
    opener: str | None = None
    for line in text.splitlines(keepends=True):
        position += len(line)
        match = FENCE.match(line)
        if match:
            marker = match.group(1)
            if opener is None:
                opener = marker
            elif marker[0] == opener[0] and len(marker) >= len(opener):
                opener = None
        elif opener is None and not line.strip() and line.endswith("\n"):
            cut = position
    return text[:cut], text[cut:]
