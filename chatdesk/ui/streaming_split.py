"""Where a Markdown text can be cut into pieces that render on their own.

A block is finished once a blank line follows it outside any code fence. Inside an open code
block every ``code_lines`` complete lines also make a cut (CODE_CHUNK_LINES while a reply
streams, so a long code block is highlighted piece by piece instead of all over again at
every frame; WHOLE_CODE_LINES in a finished message, so no piece is one huge table to
insert and lay out in one event-loop turn; the renderer joins the pieces of a block without
a gap), and any run heavier than PIECE_WEIGHT (plain characters count 1, characters that
start inline syntax more, see HEAVY) is cut at the next line end, or inside a heavy line at
the next white space (a hard cut when there is none within SEARCH_CHARS). So every piece, and the
still-changing tail of a streaming reply, stays small whatever the text, and rendering a
piece costs a bounded time. No cut is made at a line end inside a code block where the next
line closes the block, nor while it may still (the text so far ends in a start of a closing
fence, or at the line end): a piece of only that line would draw an empty code line under
the block, while streaming and in a whole render alike. Cuts depend only on the text before
them and the start of the line after, so while text arrives they only ever move forward, and
a scan resumes from the last cut (``Cut`` carries the fence state there) instead of reading
the whole text again.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from chatdesk.markdown_fences import FENCE, closes, fence_marker

CODE_CHUNK_LINES = 10
WHOLE_CODE_LINES = 30  # a finished message's code pieces: each insertion small (bench_gui --code)
PIECE_WEIGHT = 2_000  # a piece costs at most a few ms of markdown-it work (bench_gui)
SEARCH_CHARS = 100
STEP = 64
# Characters that start inline parsing cost far more than plain text; "[" and "!" the most
# (each may open a link label that markdown-it scans), measured per character.
HEAVY = {"[": 10, "!": 10, "]": 4, "(": 4, ")": 4, "*": 4, "_": 4, "~": 4, "`": 4, "<": 4}
HEAVY.update({"&": 4, "\\": 4, "|": 4, "\n": 25})
WHITE_SPACE = re.compile(r"\s")
FENCE_AT = re.compile(FENCE.pattern.removeprefix("^"))  # match(text, pos): anchored at pos


@dataclass(frozen=True)
class Cut:
    """A place the text may be cut, with the code fence open there (if any)."""

    position: int = 0
    opener: str | None = None
    code_lines: int = 0
    mid_line: bool = False


def weight(text: str, start: int, end: int) -> int:
    """Rendering cost of text[start:end] in plain-character units."""
    extra = sum((cost - 1) * text.count(char, start, end) for char, cost in HEAVY.items())
    return end - start + extra


def next_cuts(
    text: str, after: Cut, code_lines: int = CODE_CHUNK_LINES, limit: int = 0
) -> list[Cut]:
    """The cuts in ``text`` after ``after``, in order: all, or the first ``limit``; code
    blocks also every ``code_lines`` lines."""
    cuts: list[Cut] = []
    state = after
    position = after.position
    budget = PIECE_WEIGHT
    while position < len(text):
        newline = text.find("\n", position)
        end = len(text) if newline < 0 else newline + 1
        fence = None if state.mid_line else FENCE_AT.match(text, position, end)
        code_cost = (end - position) // 2  # highlighting code costs per character only
        if state.opener is not None and fence is None and newline >= 0 and code_cost <= budget:
            spent, left = None, budget - code_cost
        else:
            spent, left = _spend(text, position, end, budget, newline >= 0)
        if spent is not None and fence is None:
            inner = _inner_cut(text, spent, end)
            if inner is not None:
                state = Cut(inner, state.opener, state.code_lines, True)
                cuts.append(state)
                position, budget = inner, PIECE_WEIGHT
                if len(cuts) == limit:
                    break
                continue
        if newline < 0:
            break
        state, cut = _after_line(state, text[position:end], fence, end, code_lines)
        budget = left
        position = end
        if (cut or budget <= 0) and not _may_close(text, state):
            cuts.append(state)
            budget = PIECE_WEIGHT
            if len(cuts) == limit:
                break
    return cuts


def _after_line(
    state: Cut, line: str, fence: re.Match[str] | None, end: int, code_lines: int
) -> tuple[Cut, bool]:
    """The state after one complete line, and whether a block ends there."""
    if fence is not None and state.opener is None:
        return Cut(end, line.strip(), 0), False
    if fence is not None and state.opener and closes(state.opener, fence.group(1), line):
        return Cut(end), False
    if state.opener is None:
        return Cut(end), not line.strip()
    count = state.code_lines + 1
    return Cut(end, state.opener, count), count % code_lines == 0


def _spend(text: str, start: int, end: int, budget: int, complete: bool) -> tuple[int | None, int]:
    """(where the budget runs out inside text[start:end], or None; the budget left).

    Counted in whole STEPs from ``start`` (a partial step only at a line end), so the answer
    depends only on the text before it and never on how much of a line has arrived.
    """
    position = start
    while position < end:
        step_end = min(position + STEP, end)
        if step_end - position < STEP and not complete:
            return None, budget
        budget -= weight(text, position, step_end)
        if budget <= 0 and step_end < end:
            return step_end, budget
        position = step_end
    return None, budget


def _inner_cut(text: str, boundary: int, end: int) -> int | None:
    """A cut inside a heavy line: after the next white space past ``boundary``, else
    SEARCH_CHARS on; None while the text so far cannot decide it."""
    limit = min(end, boundary + SEARCH_CHARS)
    space = WHITE_SPACE.search(text, boundary, limit)
    if space is not None and space.end() < end:
        return space.end()
    if limit == boundary + SEARCH_CHARS and limit < end:
        return limit
    return None


def whole_cuts(text: str, after: Cut, limit: int = 0) -> list[Cut]:
    """The cuts of a whole (finished) text after ``after`` (all, or the first ``limit``):
    code also every WHOLE_CODE_LINES."""
    return next_cuts(text, after, WHOLE_CODE_LINES, limit)


def _may_close(text: str, cut: Cut) -> bool:
    """True where the line after ``cut`` closes the code block open there, or still may
    (the text so far ends inside that line)."""
    if cut.opener is None or cut.mid_line:
        return False
    newline = text.find("\n", cut.position)
    if newline < 0:
        return _closing_start(cut.opener).fullmatch(text, cut.position) is not None
    line = text[cut.position : newline + 1]
    fence = FENCE.match(line)
    return fence is not None and closes(cut.opener, fence.group(1), line)


@functools.lru_cache(maxsize=16)
def _closing_start(opener: str) -> re.Pattern[str]:
    """What a line that closes ``opener``'s block may begin with: up to three spaces and
    the fence's character, then (once there are as many as it opened with) white space."""
    marker = fence_marker(opener)
    char = re.escape(marker[0])
    return re.compile(rf" {{0,3}}(?:{char}*|{char}{{{len(marker)},}}[^\S\n]*)")


def split_stable(text: str) -> tuple[str, str]:
    """(finished prefix, tail still being written)."""
    cuts = next_cuts(text, Cut())
    cut = cuts[-1].position if cuts else 0
    return text[:cut], text[cut:]


def next_piece(text: str, after: Cut) -> tuple[str, Cut]:
    """The piece of a whole text after ``after`` and the cut that ends it (none: the rest)."""
    cuts = whole_cuts(text, after, limit=1)
    end = cuts[0] if cuts else Cut(len(text))
    return text[after.position : end.position], end


def pieces(text: str) -> list[tuple[str, str | None]]:
    """A whole text as pieces to render one after the other: (text, fence it continues)."""
    result: list[tuple[str, str | None]] = []
    cut = Cut()
    while cut.position < len(text):
        piece, end = next_piece(text, cut)
        result.append((piece, cut.opener))
        cut = end
    return result
