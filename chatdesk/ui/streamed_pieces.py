"""A streamed reply's pieces as drawn, and the plan that settles it (Qt-free).

While a reply streams, ``MessageBody`` records each kept piece as a ``Span``: where it starts
and ends in the text, where it ends in the document and how far the code blocks reach.
When the reply ends, ``settle_plan`` finds how many of those pieces a whole render cuts the
same way; ``settle_work`` (on a worker thread, with its own renderer) renders the rest as a
whole render would (``render_rest``). ``join_blocks`` and ``blocks_at`` keep the raw text
of the code blocks ("Copy code") in step with the pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatdesk.ui.rendering import MarkdownRenderer, Palette
from chatdesk.ui.streaming_split import Cut, next_piece, whole_cuts

Prepared = tuple[list[str], tuple[str, ...]]  # pieces' HTML, and the code blocks after them
Settled = tuple[int, Prepared]  # streamed pieces kept, and what follows them


@dataclass(frozen=True)
class Span:
    """A piece of a streamed reply as drawn: where it starts and ends in the text, where it
    ends in the document, and how far the code blocks reach at its end."""

    start: Cut
    end: int
    doc_end: int
    code: tuple[int, int]  # code blocks so far, and the length of the last


def blocks_at(final: Sequence[str], spans: Sequence[Span], kept: int) -> tuple[str, ...]:
    """The code blocks as they were after the first ``kept`` pieces (prefixes of ``final``)."""
    if not kept:
        return ()
    count, last = spans[kept - 1].code
    return (*final[: count - 1], final[count - 1][:last]) if count else ()


def join_blocks(blocks: list[str], new: tuple[str, ...], continues: str | None) -> list[str]:
    """The code blocks after a piece: one that continues a block extends the last."""
    joined, added = list(blocks), list(new)
    if continues is not None and added and joined:
        joined[-1] += added.pop(0)
    return joined + added


def render_rest(
    renderer: MarkdownRenderer, text: str, start: Cut, blocks: tuple[str, ...]
) -> Prepared:
    """The HTML of a whole render's pieces of ``text`` from ``start`` on, and the code blocks
    after them (Qt-free: runs on a worker thread, with its own renderer)."""
    pieces_html: list[str] = []
    joined = list(blocks)
    after = start
    while after.position < len(text):
        piece, end = next_piece(text, after)
        rendered = renderer.render(piece, len(joined), after.opener)
        joined = join_blocks(joined, rendered.code_blocks, after.opener)
        pieces_html.append(rendered.html)
        after = end
    return pieces_html, tuple(joined)


def settle_plan(text: str, spans: Sequence[Span], tail: Cut) -> tuple[int, Cut] | None:
    """(how many streamed pieces a whole render of ``text`` cuts the same way, where its
    next piece starts); None when the streamed pieces and ``tail`` are all cut the same."""
    starts = [cut for cut in [Cut(), *whole_cuts(text, Cut())] if cut.position < len(text)]
    ends = [cut.position for cut in starts[1:]] + [len(text)]
    kept = 0
    for span, start, end in zip(spans, starts, ends, strict=False):
        if (_key(span.start), span.end) != (_key(start), end):
            break
        kept += 1
    drawn_tail = [_key(tail)] if text[tail.position :].strip() else []
    if kept == len(spans) and [_key(cut) for cut in starts[kept:]] == drawn_tail:
        return None
    return kept, starts[kept]


def settle_work(
    palette: Palette, text: str, spans: Sequence[Span], tail: Cut, final_blocks: Sequence[str]
) -> Settled | None:
    """settle_plan and the HTML of the pieces to redraw (Qt-free: for a worker thread)."""
    plan = settle_plan(text, spans, tail)
    if plan is None:
        return None
    kept, start = plan
    blocks = blocks_at(final_blocks, spans, kept)
    return kept, render_rest(MarkdownRenderer(palette), text, start, blocks)


def _key(cut: Cut) -> tuple[int, str | None]:
    """Where a piece starts and the fence it continues (what makes two cuts the same)."""
    return cut.position, cut.opener
