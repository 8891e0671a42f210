"""Model output is untrusted: escaped HTML, nothing loaded, links only on click, code copy."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from chatdesk.ui.message_body import MessageBody
from chatdesk.ui.rendering import MarkdownRenderer
from chatdesk.ui.streaming_split import Cut, next_cuts, pieces, split_stable

HOSTILE = """Hello <script>alert(1)</script> <img src="file:///etc/passwd"> <b>bold?</b>

![secret](http://example.com/track.png)

<iframe src="http://evil.example"></iframe>

[a link](https://example.org/page)
"""


def test_raw_html_is_escaped_and_images_are_not_embedded() -> None:
    rendered = MarkdownRenderer().render(HOSTILE)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "<img" not in rendered.html
    assert "<iframe" not in rendered.html
    assert '<a href="https://example.org/page">' in rendered.html


def test_body_never_loads_resources(qtbot: QtBot) -> None:
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    body.show_markdown(HOSTILE)
    text = body.toPlainText()
    assert "<script>alert(1)</script>" in text  # shown as text
    assert "![secret](http://example.com/track.png)" in text
    for url in ("file:///etc/passwd", "http://example.com/track.png", "qrc:/x.png"):
        assert body.loadResource(int(QTextDocument.ResourceType.ImageResource), QUrl(url)) is None
    assert not body.openLinks()
    assert not body.openExternalLinks()


def test_code_blocks_are_highlighted_and_copyable(qtbot: QtBot) -> None:
    text = "Try:\n\n```python\nprint('<hi>')\n```\n\nand\n\n```\nplain & simple\n```\n"
    rendered = MarkdownRenderer().render(text)
    assert rendered.code_blocks == ("print('<hi>')\n", "plain & simple\n")
    assert "color" in rendered.html  # Pygments inline styles
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    body.show_markdown(text)
    with qtbot.waitSignal(body.copy_code) as copied:
        body.anchorClicked.emit(QUrl("copy-code:1"))
    assert copied.args == ["plain & simple\n"]


def test_tables_and_lists_render() -> None:
    html = MarkdownRenderer().render("| a | b |\n|---|---|\n| 1 | 2 |\n\n- x\n- y\n").html
    assert "<table" in html
    assert "<td>1</td>" in html
    assert "<li>x</li>" in html


def test_streaming_render_matches_text_and_numbers_code_blocks(qtbot: QtBot) -> None:
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    reply = "Intro paragraph.\n\n```python\nx = 1\n```\n\nMiddle.\n\n```\ny = 2\n```\n\nEnd."
    for end in range(1, len(reply) + 1, 7):
        body.show_streaming(reply[:end])
    body.show_streaming(reply)
    text = body.toPlainText()
    for part in ("Intro paragraph.", "x = 1", "Middle.", "y = 2", "End."):
        assert text.count(part) == 1
    assert body.code_blocks == ("x = 1\n", "y = 2\n")
    with qtbot.waitSignal(body.copy_code) as copied:
        body.anchorClicked.emit(QUrl("copy-code:1"))
    assert copied.args == ["y = 2\n"]


def test_open_fence_renders_as_code_while_streaming() -> None:
    rendered = MarkdownRenderer().render("a\n```py\nx = 1")
    assert rendered.code_blocks == ("x = 1",)
    assert "Copy code" in rendered.html


def test_split_stable_never_cuts_inside_code() -> None:
    stable, tail = split_stable("para\n\n```\ncode\n\nmore code\n")
    assert stable == "para\n\n"
    assert tail.startswith("```")


def test_long_code_block_streams_in_pieces_but_copies_whole(qtbot: QtBot) -> None:
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    code = "".join(f"line_{n} = {n}\n" for n in range(75))
    reply = f"Code:\n\n```python\n{code}```\n\nAfter the code."
    for end in range(1, len(reply) + 1, 9):
        body.show_streaming(reply[:end])
    body.show_streaming(reply)
    text = body.toPlainText()
    for n in range(75):
        assert text.count(f"line_{n} = {n}") == 1
    assert text.count("Copy code") == 1  # one header, however many pieces
    assert body.code_blocks == (code,)
    assert "After the code." in text
    full = MarkdownRenderer().render(reply)
    assert full.code_blocks == (code,)


def test_split_stable_cuts_long_open_code_blocks_by_lines() -> None:
    from chatdesk.ui.streaming_split import CODE_CHUNK_LINES

    lines = "".join(f"x{n}\n" for n in range(CODE_CHUNK_LINES + 3))
    stable, tail = split_stable(f"```\n{lines}")
    assert stable.endswith(f"x{CODE_CHUNK_LINES - 1}\n")
    assert tail == "".join(f"x{n}\n" for n in range(CODE_CHUNK_LINES, CODE_CHUNK_LINES + 3))


def test_text_after_a_closed_code_block_is_not_code_in_a_long_message() -> None:
    """A cut after a closed fence carries no open fence: the table and paragraph that follow
    are drawn as a table and a paragraph, however many pieces the message takes."""
    part = "```python\nx = 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nSome words after.\n"
    text = "".join(f"Part {n}:\n{part}" for n in range(30))
    assert len(pieces(text)) > 2
    assert all(opener is None for _piece, opener in pieces(text))
    assert all(cut.opener is None for cut in next_cuts(text, Cut()))
    drawn = "".join(MarkdownRenderer().render(p, 0, o).html for p, o in pieces(text))
    assert drawn.count('<table border="1"') == 30  # every table a table, none inside code
    assert drawn.count("Copy code") == 30


def test_a_paragraph_after_a_list_is_not_a_list_item(qtbot: QtBot) -> None:
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    body.show_markdown("1. first\n2. second\n\nDone.")
    qtbot.waitUntil(lambda: not body.rendering)
    done = body.document().find("Done.")
    assert done.currentList() is None
    assert body.document().find("second").currentList() is not None


def test_a_code_language_is_looked_up_once() -> None:
    """Finding a lexer by name cost about a ms for every piece of code while a reply
    streamed; the same language (however written) reuses one, an unknown one is plain."""
    from pygments.lexers import TextLexer

    from chatdesk.ui.rendering import lexer_for

    assert lexer_for("Python") is lexer_for(" python")
    assert lexer_for("python").name == "Python"
    assert isinstance(lexer_for("no-such-language"), TextLexer)


def streamed_cuts(text: str) -> list[Cut]:
    """The cuts a streaming reply makes, a character at a time, each scan resuming from the
    last cut (as MessageBody does)."""
    cuts = [Cut()]
    for end in range(1, len(text) + 1):
        cuts += next_cuts(text[:end], cuts[-1])
    return cuts[1:]


def test_streaming_cuts_only_move_forward_and_never_leave_a_fence_alone() -> None:
    """Cuts made as text arrives are the cuts of the whole text (none taken back), and no
    piece that continues a code block holds only its closing fence (an empty code line)."""
    from chatdesk.ui.streaming_split import CODE_CHUNK_LINES

    blocks = []
    for lines, (opener, closer) in itertools.product(
        (CODE_CHUNK_LINES - 1, CODE_CHUNK_LINES, 2 * CODE_CHUNK_LINES, 2 * CODE_CHUNK_LINES + 1),
        (("```python", "```"), ("~~~~", "  ~~~~~  "), ("````", "```` x\n````")),
    ):
        code = "".join(f"x_{n} = {n}\n" if n % 7 else "\n" for n in range(lines))
        blocks.append(f"Some prose.\n\n{opener}\n{code}{closer}\n\nMore prose.\n")
    text = "".join(blocks)
    cuts = streamed_cuts(text)
    assert cuts == next_cuts(text, Cut())
    renderer = MarkdownRenderer()
    for start, end in itertools.pairwise([Cut(), *cuts]):
        piece = text[start.position : end.position]
        drawn = renderer.render(piece, 0, start.opener).code_blocks
        assert start.opener is None or drawn[0], f"an empty code line: {piece!r}"
