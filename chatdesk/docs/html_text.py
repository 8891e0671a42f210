"""Visible text of an HTML document with the standard library's parser, fed line by line.

Scripts, styles, templates and other invisible elements are dropped; block elements
(paragraphs, headings, list items, table cells, ``br``) end a line. Each block of text keeps
the source line it started on (one ``Section`` per line of text), so a chunk from an HTML
file has a line range in the source like any text file. Nothing is fetched or executed:
the parser only sees characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from html.parser import HTMLParser

from chatdesk.docs.extract_types import Section

HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "svg", "iframe", "object"})
BLOCK_TAGS = (
    "p div br li ul ol h1 h2 h3 h4 h5 h6 tr td th table section article header footer nav "
    "aside main blockquote pre hr dt dd figcaption title"
)
BLOCKS = frozenset(BLOCK_TAGS.split())


class _TextCollector(HTMLParser):
    """Collects (source line, text line) pairs of visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._hidden_depth = 0
        self._current: list[str] = []
        self._current_line = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self._hidden_depth += 1
        elif tag in BLOCKS:
            self.end_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in BLOCKS:
            self.end_line()

    def handle_data(self, data: str) -> None:
        if self._hidden_depth or not data.strip():
            return
        if not self._current:
            self._current_line = self.getpos()[0]
        self._current.append(" ".join(data.split()))

    def end_line(self) -> None:
        """Finish the current line of text, if any."""
        if self._current:
            self.lines.append((self._current_line, " ".join(self._current)))
            self._current = []


def html_sections(lines: Iterable[str]) -> Iterator[Section]:
    """One section per line of visible text, numbered by the source line it starts on."""
    parser = _TextCollector()
    for line in lines:
        parser.feed(line + "\n")
        yield from _drain(parser)
    parser.close()
    parser.end_line()
    yield from _drain(parser)


def _drain(parser: _TextCollector) -> Iterator[Section]:
    for number, text in parser.lines:
        yield Section(text, None, number)
    parser.lines = []
