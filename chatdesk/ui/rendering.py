"""Model output (untrusted Markdown) to the HTML subset QTextDocument shows.

Raw HTML in the text is escaped, images become plain text, fenced code is highlighted with
Pygments (inline styles: QTextDocument has no style sheets for classes) and each code block
gets a "Copy code" link (``copy-code:N``). No Qt here, so it is cheap to test.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import markdown
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from chatdesk.markdown_fences import close_open_fence, open_fence

UNSAFE_PATTERNS = ("html", "image_link", "image_reference", "short_image_ref")
CODE_BLOCK = re.compile(
    r'<pre><code(?: class="language-(?P<lang>[^"]*)")?>(?P<code>.*?)</code></pre>', re.DOTALL
)
COPY_CODE_SCHEME = "copy-code"


@dataclass(frozen=True)
class Palette:
    """Colours of rendered content for one theme."""

    code_background: str
    code_header: str
    pygments_style: str
    table_border: str


LIGHT = Palette("#f4f5f7", "#6b7280", "default", "#c8ccd2")
DARK = Palette("#1e2127", "#9aa3b1", "monokai", "#4a4f59")


@dataclass(frozen=True)
class Rendered:
    """HTML for one message and the raw text of its code blocks (for "Copy code")."""

    html: str
    code_blocks: tuple[str, ...]


class MarkdownRenderer:
    """Converts Markdown to safe, highlighted HTML; one instance per theme."""

    def __init__(self, palette: Palette = LIGHT) -> None:
        self.palette = palette
        self._md = markdown.Markdown(extensions=["fenced_code", "tables", "sane_lists", "nl2br"])
        self._md.preprocessors.deregister("html_block")
        for name in UNSAFE_PATTERNS:
            if name in self._md.inlinePatterns:
                self._md.inlinePatterns.deregister(name)
        self._formatter = HtmlFormatter(nowrap=True, noclasses=True, style=palette.pygments_style)

    def render(
        self, text: str, first_code_index: int = 0, continues: str | None = None
    ) -> Rendered:
        """Safe HTML for a message's Markdown (code links numbered from first_code_index).

        While a reply streams, a long code block is rendered in pieces: ``continues`` is the
        opening fence line of the block this text carries on (its first piece drawn without
        a header), and a block still open at the end is drawn without its bottom margin.
        """
        source = text if continues is None else f"{continues}\n{text}"
        still_open = open_fence(source) is not None
        self._md.reset()
        body = self._md.convert(close_open_fence(source))
        count = len(CODE_BLOCK.findall(body))
        blocks: list[str] = []

        def replace(match: re.Match[str]) -> str:
            code = html.unescape(match.group("code"))
            blocks.append(code)
            position = len(blocks) - 1
            header = not (position == 0 and continues is not None)
            ending = not (position == count - 1 and still_open)
            index = first_code_index + position - (0 if header else 1)
            return self._code_block(code, match.group("lang") or "", index, header, ending)

        body = CODE_BLOCK.sub(replace, body)
        body = body.replace("<table>", self._table_open())
        return Rendered(body, tuple(blocks))

    def render_plain(self, text: str) -> Rendered:
        """A user's message: shown as typed (escaped, line breaks kept)."""
        escaped = html.escape(text).replace("\n", "<br/>")
        return Rendered(f'<p style="white-space: pre-wrap">{escaped}</p>', ())

    def _code_block(
        self, code: str, language: str, index: int, header: bool = True, ending: bool = True
    ) -> str:
        highlighted = highlight(code, lexer_for(language), self._formatter).rstrip("\n")
        label = html.escape(language or "code")
        p = self.palette
        top, bottom = ("4px" if header else "0"), ("8px" if ending else "0")
        title = (
            f'<div style="color: {p.code_header}; font-size: small">{label} &#183; '
            f'<a href="{COPY_CODE_SCHEME}:{index}">Copy code</a></div>'
        )
        return (
            f'<table width="100%" cellspacing="0" cellpadding="8" bgcolor="{p.code_background}"'
            f' style="margin-top: {top}; margin-bottom: {bottom}"><tr><td>'
            f"{title if header else ''}"
            f'<pre style="margin: 0; white-space: pre-wrap">{highlighted}</pre></td></tr></table>'
        )

    def _table_open(self) -> str:
        return (
            '<table border="1" cellspacing="0" cellpadding="4" '
            f'style="border-color: {self.palette.table_border}; border-style: solid">'
        )


def lexer_for(language: str) -> Lexer:
    """The Pygments lexer for a fence's language tag; plain text when unknown."""
    if language:
        try:
            return get_lexer_by_name(language.strip().lower())
        except ClassNotFound:
            pass
    return TextLexer()
