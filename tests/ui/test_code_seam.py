"""A long code block is drawn in several pieces (tables) but looks like one block.

A whole render cuts a long code block every WHOLE_CODE_LINES lines, streaming every
CODE_CHUNK_LINES lines; where two pieces of one block meet there is no gap: each line
follows the one before at the normal line spacing, the background runs on without a break,
and there is one "Copy code" header. Checked in the laid-out document and in the pixels the
widget paints, for a whole render, while streaming and after the settle; and scrolled
sideways, a block one of whose pieces is wider than the others.
"""

from __future__ import annotations

import itertools

from PySide6.QtGui import QColor, QTextCursor, QTextDocument
from pytestqt.qtbot import QtBot

from chatdesk.ui.message_body import MessageBody
from chatdesk.ui.rendering import LIGHT, MarkdownRenderer
from chatdesk.ui.streaming_split import CODE_CHUNK_LINES, WHOLE_CODE_LINES, pieces

LINES = 150
CODE = "".join(f"    value_{n} = compute(data[{n}], 'name')  # step {n}\n" for n in range(LINES))
REPLY = f"Before the code.\n\n```python\ndef load(data):\n{CODE}```\n\nAfter the code.\n"


def line_tops(document: QTextDocument) -> list[float]:
    """Where each code line (``value_N``) starts, in order, in document coordinates."""
    layout = document.documentLayout()
    tops: list[float] = []
    block = document.begin()
    while block.isValid():
        if block.text().startswith(f"    value_{len(tops)} "):
            tops.append(layout.blockBoundingRect(block).y())
        block = block.next()
    return tops


def assert_one_seamless_block(body: MessageBody) -> None:
    document = body.document()
    assert document.toHtml().count("<table") > 1  # drawn in pieces: there are seams
    tops = line_tops(document)
    assert len(tops) == LINES
    spacing = tops[1] - tops[0]
    steps = [round(after - before, 1) for before, after in itertools.pairwise(tops)]
    gaps = {n: step for n, step in enumerate(steps, 1) if step != spacing}
    assert not gaps, f"line N starts this far below line N-1 (normal {spacing}): {gaps}"
    assert body.toPlainText().count("Copy code") == 1
    assert_background_runs_on(body, tops[0], tops[-1] + spacing)


def assert_background_runs_on(body: MessageBody, top: float, bottom: float) -> None:
    """Right of the text, every pixel row from the first code line to the last is the code
    background (no row of the message's own background between two pieces)."""
    image = body.grab().toImage()
    x = body.viewport().width() - 20  # the lines end far left of this
    offset = body.viewport().mapTo(body, body.viewport().rect().topLeft()).y()
    code = QColor(LIGHT.code_background)
    rows = range(int(top) + offset, int(bottom) + offset)
    wrong = [y for y in rows if image.pixelColor(x, y) != code]
    assert not wrong, f"rows not painted as code: {wrong[:20]}"


def message_body(qtbot: QtBot) -> MessageBody:
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    body.resize(900, 300)
    body.show()
    return body


def test_a_whole_render_shows_a_long_code_block_as_one(qtbot: QtBot) -> None:
    body = message_body(qtbot)
    body.show_markdown(REPLY)
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    assert_one_seamless_block(body)


def test_a_streaming_code_block_is_one_block_and_stays_one_once_settled(qtbot: QtBot) -> None:
    body = message_body(qtbot)
    for end in range(1, len(REPLY) + 1, 11):
        body.show_streaming(REPLY[:end])
    body.show_streaming(REPLY)
    assert_one_seamless_block(body)
    body.settle()
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    assert_one_seamless_block(body)


def test_a_finished_long_code_block_goes_in_as_small_pieces() -> None:
    """No piece of a whole render is one huge table (each is inserted and laid out in one
    event-loop turn): at most WHOLE_CODE_LINES lines of code each, and the pieces together
    are the text."""
    cut = pieces(REPLY)
    assert "".join(piece for piece, _ in cut) == REPLY
    code_lines = [sum(not line.startswith("```") for line in p.splitlines()) for p, _ in cut]
    assert max(code_lines) <= WHOLE_CODE_LINES
    assert len(cut) >= LINES // WHOLE_CODE_LINES


def code_rows(body: MessageBody, x: int) -> list[int]:
    """The rows of the viewport painted in the code background at column ``x``."""
    image = body.viewport().grab().toImage()
    code = QColor(LIGHT.code_background)
    return [y for y in range(image.height()) if image.pixelColor(x, y) == code]


def test_a_block_with_one_wide_line_stays_one_block_scrolled_sideways(qtbot: QtBot) -> None:
    """A piece holding a line wider than the message is wider than the other pieces; scrolled
    to its far end, the whole block still has its background there, and nothing more."""
    wide = CODE.replace("# step 40\n", "# step 40" + " and a very long comment" * 8 + "\n")
    body = message_body(qtbot)
    body.show_markdown(REPLY.replace(CODE, wide))
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    body.resize(700, body.height())
    bar = body.horizontalScrollBar()
    assert bar.maximum() > 500  # the wide line scrolls sideways
    block = code_rows(body, 5)  # the left padding of every piece, scrolled to the start
    tops = line_tops(body.document())  # in pixels of this machine's monospace font
    assert len(tops) == LINES
    assert len(block) > tops[-1] - tops[0]  # from the first code line to the last
    bar.setValue(bar.maximum())
    assert code_rows(body, body.viewport().width() - 5) == block
    body.show_markdown("Now a short answer.\n\n```python\nx = 1\n```\n")  # nothing as wide
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    assert bar.maximum() == 0
    assert code_rows(body, 5)  # the short block
    assert code_rows(body, body.viewport().width() - 1) == []  # no strip left from before


def space_below_code(body: MessageBody, last: str) -> float:
    """From the bottom of the code line ``last`` to the top of the paragraph after the block."""
    document = body.document()
    layout = document.documentLayout()
    tops: dict[str, float] = {}
    block = document.begin()
    while block.isValid():
        for start in (last, "End."):
            if block.text().startswith(start):
                rect = layout.blockBoundingRect(block)
                tops[start] = rect.bottom() if start == last else rect.top()
        block = block.next()
    return tops["End."] - tops[last]


def test_a_block_of_whole_pieces_ends_like_any_other(qtbot: QtBot) -> None:
    """A block of exactly two pieces' lines is not cut before its closing fence (a piece of
    that fence alone drew an empty code line under the block), and a streamed one settles to
    the same document."""
    spaces = []
    for lines in (2 * WHOLE_CODE_LINES - 1, 2 * WHOLE_CODE_LINES):
        code = "".join(f"value_{n} = {n}\n" for n in range(lines))
        text = f"Code:\n\n```python\n{code}```\n\nEnd.\n"
        body = message_body(qtbot)
        body.show_markdown(text)
        qtbot.waitUntil(lambda body=body: not body.rendering, timeout=10_000)
        assert body.document().toHtml().count("<table") == 2
        spaces.append(space_below_code(body, f"value_{lines - 1} "))
        streamed = message_body(qtbot)
        for end in range(1, len(text) + 1, 13):
            streamed.show_streaming(text[:end])
        streamed.show_streaming(text)
        streamed.settle()
        qtbot.waitUntil(lambda streamed=streamed: not streamed.rendering, timeout=10_000)
        assert streamed.document().toHtml() == body.document().toHtml()
    assert spaces[0] == spaces[1]


def code_lines(body: MessageBody) -> list[str]:
    """The text of each line drawn inside a code block (headers left out), in order."""
    background = QColor(LIGHT.code_background).name()
    lines = []
    block = body.document().begin()
    while block.isValid():
        table = QTextCursor(block).currentTable()
        in_code = table is not None and table.format().background().color().name() == background
        if in_code and "Copy code" not in block.text():
            lines.append(block.text())
        block = block.next()
    return lines


def streamed(qtbot: QtBot, text: str) -> MessageBody:
    """A body that has streamed ``text`` a few characters at a time (not settled)."""
    body = message_body(qtbot)
    for end in range(1, len(text) + 1, 7):
        body.show_streaming(text[:end])
    body.show_streaming(text)
    return body


def test_a_streaming_block_of_whole_pieces_has_no_empty_last_line(qtbot: QtBot) -> None:
    """While a reply streams (before the settle), a code block of exactly two streaming
    pieces' lines, closed and followed by more prose, ends at its last line as it does drawn
    whole: no empty code line under it, the background painted just as tall."""
    code = [f"value_{n} = {n}" for n in range(2 * CODE_CHUNK_LINES)]
    text = "Code:\n\n```python\n{}\n```\n\nThe reply goes on after the block.\n"
    text = text.format("\n".join(code))
    body = streamed(qtbot, text)
    assert body.pieced  # streamed in pieces, and not yet settled:
    assert not body.rendering
    assert code_lines(body) == code
    whole = message_body(qtbot)
    whole.show_markdown(text)
    qtbot.waitUntil(lambda: not whole.rendering, timeout=10_000)
    assert code_rows(body, 5) == code_rows(whole, 5)


def test_an_open_block_of_whole_pieces_has_no_empty_last_line(qtbot: QtBot) -> None:
    """Mid-stream, an open block of exactly one streaming piece's lines shows just those
    lines: before the next line starts, and while its closing fence is arriving."""
    code = [f"value_{n} = {n}" for n in range(CODE_CHUNK_LINES)]
    start = "Code:\n\n```python\n{}\n".format("\n".join(code))
    for arriving in ("", "```"):
        body = streamed(qtbot, start + arriving)
        assert code_lines(body) == code, f"after {arriving!r}"
