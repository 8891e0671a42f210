"""Text out of the user's files, one ``Section`` at a time, with where each piece came from.

Every extractor is a generator, so memory stays bounded by one PDF page or a few thousand
lines of text whatever the file's size. A ``Section`` carries the 1-based page it comes
from (PDF only; None for formats without pages) and the 1-based number of its first line
(for text formats: Markdown, plain text, source code, HTML source lines; for DOCX the
paragraph number), so a chunk can point back to a page or a line range.

PDF goes through pypdfium2 (Google's PDFium, the engine inside Chrome): it is several times
faster than pure-Python pypdf on long files, keeps reading order and spacing better on
real-world PDFs (columns, ligatures, CID fonts), and is Apache-2.0/BSD licensed (pypdf is
BSD too; PyMuPDF, the other fast one, is AGPL and so not an option for a shipped app).

A file that cannot be read (encrypted or corrupt PDF, a binary file named ``.txt``, a file
over the size cap) raises ``ExtractionError`` with a one-line reason; the indexer lists it
and goes on with the next file. Document content is untrusted: nothing here executes or
fetches anything (HTML scripts and styles are dropped, links are not followed).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from pathlib import Path

from chatdesk.docs.extract_types import ExtractionError, Section
from chatdesk.docs.html_text import html_sections

MAX_FILE_BYTES = 512 * 1024 * 1024  # larger files are listed as "too large", not read
LINES_PER_SECTION = 200  # text files are read and chunked this many lines at a time
SNIFF_BYTES = 8192

TEXT_SUFFIX_LIST = (
    ".txt .text .md .markdown .rst .org .csv .tsv .log .json .yaml .yml .toml .ini .cfg "
    ".py .pyi .c .h .cc .cpp .hpp .cs .java .kt .go .rs .js .mjs .ts .tsx .jsx .rb .php "
    ".swift .m .scala .sh .bash .zsh .ps1 .sql .r .lua .pl .hs .ex .exs .erl .dart .vue "
    ".css .scss .xml .tex"
)
TEXT_SUFFIXES = frozenset(TEXT_SUFFIX_LIST.split())
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".docx"}


def is_supported(path: Path) -> bool:
    """Whether the file's name says it is a format ChatDesk indexes."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def check_size(path: Path, limit: int = MAX_FILE_BYTES) -> int:
    """The file's size, or ExtractionError when it is over the cap or unreadable."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ExtractionError(f"cannot read: {error.strerror or error}") from error
    if size > limit:
        raise ExtractionError(f"too large: {size / 1e9:.1f} GB (the limit is {limit / 1e6:.0f} MB)")
    return size


def extract(path: Path, limit: int = MAX_FILE_BYTES) -> Iterator[Section]:
    """The sections of one file, in order; raises ExtractionError with the reason."""
    check_size(path, limit)
    suffix = path.suffix.lower()
    reader: Callable[[Path], Iterator[Section]]
    if suffix == ".pdf":
        from chatdesk.docs.pdf import pdf_sections

        reader = pdf_sections
    elif suffix == ".docx":
        from chatdesk.docs.docx_text import docx_sections

        reader = docx_sections
    elif suffix in HTML_SUFFIXES:
        reader = html_file_sections
    elif suffix in TEXT_SUFFIXES:
        reader = text_sections
    else:
        raise ExtractionError(f"unsupported file type {suffix or '(no extension)'}")
    try:
        yield from reader(path)
    except OSError as error:
        raise ExtractionError(f"cannot read: {error.strerror or error}") from error


def check_text(sample: bytes) -> None:
    """Refuse bytes that are not text (NUL bytes, or not UTF-8 where a text file must be)."""
    if b"\x00" in sample:
        raise ExtractionError("binary content in a text file (NUL bytes)")


def text_lines(path: Path) -> Iterator[str]:
    """The file's lines, decoded as UTF-8 (a BOM is dropped); binary content is refused."""
    with path.open("rb") as handle:
        check_text(handle.read(SNIFF_BYTES))
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        pending = ""
        try:
            for raw in iter(lambda: handle.read(1 << 16), b""):
                check_text(raw)
                pending += decoder.decode(raw)
                *lines, pending = pending.split("\n")
                yield from lines
            pending += decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            raise ExtractionError(f"not UTF-8 text (byte {error.start} of a block)") from None
        if pending:
            yield pending


def text_sections(path: Path) -> Iterator[Section]:
    """A text file in sections of ``LINES_PER_SECTION`` lines."""
    batch: list[str] = []
    first = 1
    for number, line in enumerate(text_lines(path), start=1):
        batch.append(line.rstrip("\r"))
        if len(batch) == LINES_PER_SECTION:
            yield Section("\n".join(batch), None, first)
            batch, first = [], number + 1
    if batch:
        yield Section("\n".join(batch), None, first)


def html_file_sections(path: Path) -> Iterator[Section]:
    """An HTML file's visible text, with the source line each block starts on."""
    yield from html_sections(text_lines(path))
