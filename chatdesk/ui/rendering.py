"""Model output (untrusted Markdown) to the HTML subset QTextDocument shows.

The parser is markdown-it-py (CommonMark, linear time in the text, nesting capped at
MAX_NESTING) with tables and strikethrough. Raw HTML in the text is escaped (``html`` off),
images become their source text, links keep only safe schemes (markdown-it's check), fenced and
indented code is highlighted with Pygments (inline styles: QTextDocument has no style sheets
for classes). Each code block gets a header row (its language, and a "Copy code" link,
``copy-code:N``) and keeps its lines unwrapped (``white-space: pre``: the message scrolls
sideways instead, see message_body). Colours come from the design system's palettes
(``content_palette``). No Qt here, so it is cheap to test. Long texts are rendered piece by
piece by the caller (see streaming_split).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from chatdesk.markdown_fences import open_fence
from chatdesk.ui import design

COPY_CODE_SCHEME = "copy-code"
MAX_NESTING = 20  # a piece nesting lists or quotes deeper is shown as text (Qt recursion)


@dataclass(frozen=True)
class Palette:
    """Colours of rendered content for one theme."""

    code_background: str
    code_header: str
    pygments_style: str
    table_border: str
    code_rule: str = "#dfe2e6"  # the line under a code block's header


def _from_design(c: design.Colours) -> Palette:
    return Palette(c.code, c.muted, c.pygments, c.control, c.border)


LIGHT = _from_design(design.LIGHT)
DARK = _from_design(design.DARK)


def content_palette(c: design.Colours) -> Palette:
    """The rendering palette of one of the design's palettes (the same object each time)."""
    return DARK if c is design.DARK else LIGHT if c is design.LIGHT else _from_design(c)


@dataclass(frozen=True)
class Rendered:
    """HTML for one message and the raw text of its code blocks (for "Copy code")."""

    html: str
    code_blocks: tuple[str, ...]


@dataclass
class _Piece:
    """What the code-block rule needs to know about the text being rendered."""

    first_index: int
    continues: bool
    still_open: bool
    count: int
    blocks: list[str]


class MarkdownRenderer:
    """Converts Markdown to safe, highlighted HTML; one instance per theme."""

    def __init__(self, palette: Palette = LIGHT) -> None:
        self.palette = palette
        options = {"html": False, "breaks": True, "maxNesting": MAX_NESTING}
        self._md = MarkdownIt("commonmark", options).enable(["table", "strikethrough"])
        # markdown-it binds each rule to its renderer: plain functions that call back here.
        self._md.add_render_rule("fence", lambda _r, *args: self._code_rule(*args))
        self._md.add_render_rule("code_block", lambda _r, *args: self._code_rule(*args))
        self._md.add_render_rule("image", lambda _r, *args: _image_as_text(*args))
        self._md.add_render_rule("table_open", lambda _r, *args: self._table_open())
        self._formatter = HtmlFormatter(nowrap=True, noclasses=True, style=palette.pygments_style)

    def render(
        self, text: str, first_code_index: int = 0, continues: str | None = None
    ) -> Rendered:
        """Safe HTML for a message's Markdown (code links numbered from first_code_index).

        A long text is rendered in pieces: ``continues`` is the opening fence line of the
        code block this piece carries on (its first piece drawn without a header and without
        top margin and padding), and a block still open at the end is drawn without bottom
        margin and padding: the pieces of one block join with no gap between their lines.
        """
        source = text if continues is None else f"{continues}\n{text}"
        tokens = self._md.parse(source)
        if any(token.level >= MAX_NESTING - 1 for token in tokens):
            return Rendered(plain_html(text), ())  # markdown-it drops what is nested deeper
        piece = _Piece(
            first_code_index,
            continues is not None,
            open_fence(source) is not None,
            sum(1 for token in tokens if token.type in ("fence", "code_block")),
            [],
        )
        body = self._md.renderer.render(tokens, self._md.options, {"piece": piece})
        return Rendered(body, tuple(piece.blocks))

    def _code_rule(self, tokens: Sequence[Token], idx: int, _options: Any, env: Any) -> str:
        token = tokens[idx]
        piece: _Piece = env["piece"]
        piece.blocks.append(token.content)
        position = len(piece.blocks) - 1
        header = not (position == 0 and piece.continues)
        ending = not (position == piece.count - 1 and piece.still_open)
        index = piece.first_index + position - (0 if header else 1)
        language = token.info.strip().split(" ", 1)[0] if token.info else ""
        return self._code_block(token.content, language, index, header, ending)

    def _code_block(
        self, code: str, language: str, index: int, header: bool = True, ending: bool = True
    ) -> str:
        highlighted = highlight(code, lexer_for(language), self._formatter).rstrip("\n")
        label = html.escape(language or "code")
        p = self.palette
        top, bottom = ("4px" if header else "0"), ("8px" if ending else "0")
        title = (
            f'<tr><td style="color: {p.code_header}; font-size: small; '
            f'border-bottom: 1px solid {p.code_rule}">{label} &#183; '
            f'<a href="{COPY_CODE_SCHEME}:{index}">Copy code</a></td></tr>'
        )  # on the left: a wide block scrolls sideways, its left end is what is in view
        return (
            f'<table width="100%" cellspacing="0" cellpadding="6" bgcolor="{p.code_background}"'
            f' style="margin-top: {top}; margin-bottom: {bottom}">'
            f"{title if header else ''}<tr><td{_seam_padding(header, ending)}>"
            f'<pre style="margin: 0; white-space: pre">{highlighted}</pre></td></tr></table>'
        )

    def _table_open(self) -> str:
        return (
            '<table border="1" cellspacing="0" cellpadding="4" '
            f'style="border-color: {self.palette.table_border}; border-style: solid">'
        )


def _seam_padding(header: bool, ending: bool) -> str:
    """The code cell's style where a piece meets the next or the one before (none, else the
    cell padding there is 0: the pieces of one block join without a gap)."""
    sides = [side for side, joined in (("top", not header), ("bottom", not ending)) if joined]
    return f' style="{"; ".join(f"padding-{side}: 0" for side in sides)}"' if sides else ""


def plain_html(text: str) -> str:
    """Text shown exactly as written (escaped, line breaks kept)."""
    escaped = html.escape(text).replace("\n", "<br/>")
    return f'<p style="white-space: pre-wrap">{escaped}</p>'


def _image_as_text(tokens: Sequence[Token], idx: int, _options: Any, _env: Any) -> str:
    """Images are never embedded: their Markdown source is shown as text."""
    token = tokens[idx]
    return html.escape(f"![{token.content}]({token.attrGet('src') or ''})")


def lexer_for(language: str) -> Lexer:
    """The Pygments lexer for a fence's language tag; plain text when unknown."""
    return _lexer(language.strip().lower())


@functools.lru_cache(maxsize=64)
def _lexer(name: str) -> Lexer:
    """One lexer per name (finding one by name costs about a ms, once per piece of code
    while a reply streams; a lexer keeps no state between texts)."""
    if name:
        try:
            return get_lexer_by_name(name)
        except ClassNotFound:
            pass
    return TextLexer()
