"""Sections of text into overlapping chunks that remember exactly where they came from.

A chunk is at most about ``CHUNK_CHARS`` characters of whole lines (a longer line is cut at
spaces), never crosses a page, and repeats the last line or two of the previous chunk
(``OVERLAP_CHARS``) so a fact split over a boundary is still found whole in one chunk.
Its provenance: the page (1-based, or None), the first and last line (1-based, in the
document's own numbering: source lines, or DOCX paragraphs), and the character offsets of
its text in the page's text (PDF) or in the document's extracted text (other formats).

Chunking is a generator over a generator: memory stays one chunk plus one section.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from chatdesk.docs.extract_types import Section

CHUNK_CHARS = 1000
OVERLAP_CHARS = 150


@dataclass(frozen=True)
class Chunk:
    """A piece of a document to index and cite."""

    text: str
    page: int | None
    line_start: int
    line_end: int
    char_start: int
    char_end: int


@dataclass(frozen=True)
class _Line:
    text: str
    number: int
    offset: int
    continued: bool = False  # a later piece of a line cut because it was too long


def section_lines(section: Section, offset: int, limit: int = CHUNK_CHARS) -> Iterator[_Line]:
    """The lines of a section with their numbers and offsets; long lines cut at spaces."""
    for index, line in enumerate(section.text.split("\n")):
        number = section.first_line + index
        for start, piece in split_long(line, limit):
            yield _Line(piece, number, offset + start, continued=start > 0)
        offset += len(line) + 1


def split_long(line: str, limit: int) -> Iterator[tuple[int, str]]:
    """(start, piece) pieces of at most ``limit`` characters, cut at a space where possible."""
    start = 0
    while len(line) - start > limit:
        cut = line.rfind(" ", start + limit // 2, start + limit)
        end = cut if cut > start else start + limit
        yield start, line[start:end]
        start = end
    yield start, line[start:]


class _Builder:
    """Accumulates lines of one page into chunks."""

    def __init__(self, page: int | None) -> None:
        self.page = page
        self.lines: list[_Line] = []
        self.size = 0
        self.fresh = 0  # lines added since the last chunk (the overlap is not fresh)

    def add(self, line: _Line) -> Chunk | None:
        """Add a line; the finished chunk when this line did not fit in it."""
        finished = None
        if self.lines and self.size + len(line.text) + 1 > CHUNK_CHARS:
            finished = self.flush(keep_overlap=True)
        self.lines.append(line)
        self.size += len(line.text) + 1
        self.fresh += 1
        return finished

    def flush(self, keep_overlap: bool = False) -> Chunk | None:
        """The chunk of the lines so far (None if they hold no text); keeps the overlap."""
        lines = self.lines
        wanted = self.fresh and any(x.text.strip() for x in lines)
        chunk = make_chunk(lines, self.page) if wanted else None
        self.fresh = 0
        kept: list[_Line] = []
        if keep_overlap:
            for line in reversed(lines):
                if sum(len(x.text) + 1 for x in kept) + len(line.text) > OVERLAP_CHARS:
                    break
                kept.insert(0, line)
        self.lines = kept
        self.size = sum(len(x.text) + 1 for x in kept)
        return chunk


def make_chunk(lines: list[_Line], page: int | None) -> Chunk:
    """A chunk of consecutive lines (a cut line's pieces are joined without a newline)."""
    parts = [lines[0].text]
    for line in lines[1:]:
        parts.append(("" if line.continued else "\n") + line.text)
    text = "".join(parts)
    last = lines[-1]
    end = last.offset + len(last.text)
    return Chunk(text, page, lines[0].number, last.number, lines[0].offset, end)


def chunk_sections(sections: Iterable[Section]) -> Iterator[Chunk]:
    """Chunks of a document's sections, in document order."""
    builder: _Builder | None = None
    offsets: dict[int | None, int] = {}
    for section in sections:
        if builder is None or builder.page != section.page:
            if builder is not None and (chunk := builder.flush()) is not None:
                yield chunk
            builder = _Builder(section.page)
        offset = offsets.get(section.page, 0)
        for line in section_lines(section, offset):
            if (chunk := builder.add(line)) is not None:
                yield chunk
        offsets[section.page] = offset + len(section.text) + 1
    if builder is not None and (chunk := builder.flush()) is not None:
        yield chunk
