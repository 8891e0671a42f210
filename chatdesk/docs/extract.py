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
over the size cap, anything but a regular file: a FIFO or a link to ``/dev/zero`` would
block or never end) raises ``ExtractionError`` with a one-line reason; the indexer lists it
and goes on with the next file. PDF and DOCX, the formats that unpack (decompression
bombs, parser crashes), are read in a worker process with memory and time limits when the
caller passes one (``extract_worker``); text formats are read here, in time linear in
their size (a one-line file of 120 MB included), and any error a reader raises becomes
the file's reason. Document content is untrusted: nothing here executes or
fetches anything (HTML scripts and styles are dropped, links are not followed).
"""

from __future__ import annotations

import codecs
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from chatdesk.docs.extract_types import ExtractionError, Section
from chatdesk.docs.html_text import html_sections

if TYPE_CHECKING:
    from chatdesk.docs.extract_worker import ExtractWorker

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


KINDS = (
    *((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")),
    *((stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")),
)


def check_size(path: Path, limit: int = MAX_FILE_BYTES) -> int:
    """The file's size, or ExtractionError when it is over the cap, unreadable or not a
    regular file (only regular files are read: a FIFO or a device never ends)."""
    try:
        info = path.stat()
    except OSError as error:
        raise ExtractionError(f"cannot read: {error.strerror or error}") from error
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in KINDS if test(info.st_mode)), "a special file")
        raise ExtractionError(f"not a regular file ({kind}): only regular files are read")
    size = info.st_size
    if size > limit:
        raise ExtractionError(f"too large: {size / 1e9:.1f} GB (the limit is {limit / 1e6:.0f} MB)")
    return size


Reader = Callable[[Path], Iterator[Section]]
ISOLATED_SUFFIXES = frozenset({".pdf", ".docx"})


def isolated_reader(path: Path) -> Reader:
    """The in-process reader of a PDF or DOCX (what the worker process runs)."""
    if path.suffix.lower() == ".pdf":
        from chatdesk.docs.pdf import pdf_sections

        return pdf_sections
    from chatdesk.docs.docx_text import docx_sections

    return docx_sections


def reader_for(path: Path, worker: ExtractWorker | None) -> Reader:
    """The reader of the file's format (PDF and DOCX through ``worker`` when given)."""
    suffix = path.suffix.lower()
    if suffix in ISOLATED_SUFFIXES:
        return worker.sections if worker is not None else isolated_reader(path)
    if suffix in HTML_SUFFIXES:
        return html_file_sections
    if suffix in TEXT_SUFFIXES:
        return text_sections
    raise ExtractionError(f"unsupported file type {suffix or '(no extension)'}")


def extract(
    path: Path, limit: int = MAX_FILE_BYTES, worker: ExtractWorker | None = None
) -> Iterator[Section]:
    """The sections of one file, in order; raises ExtractionError with the reason."""
    check_size(path, limit)
    reader = reader_for(path, worker)
    try:
        yield from reader(path)
    except ExtractionError:
        raise
    except OSError as error:
        raise ExtractionError(f"cannot read: {error.strerror or error}") from error
    except RecursionError:
        raise ExtractionError("nested too deeply to read (refused)") from None
    except MemoryError:
        raise ExtractionError("too large to read in memory (refused)") from None
    except Exception as error:  # a damaged file can raise anything inside a parser
        words = " ".join(str(error).split())[:200]
        raise ExtractionError(f"damaged or unreadable: {type(error).__name__}: {words}") from None


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
        pending: list[str] = []  # pieces of a line not yet ended: joined once, when it ends
        try:
            for raw in iter(lambda: handle.read(1 << 16), b""):
                check_text(raw)
                yield from _split_lines(decoder.decode(raw), pending)
            yield from _split_lines(decoder.decode(b"", final=True), pending)
        except UnicodeDecodeError as error:
            raise ExtractionError(f"not UTF-8 text (byte {error.start} of a block)") from None
        if tail := "".join(pending):
            yield tail


def _split_lines(text: str, pending: list[str]) -> Iterator[str]:
    """The lines ``text`` ends (the first one joined to ``pending``); keeps the rest pending.

    Linear in the text: a line spread over many blocks is joined once, not re-copied with
    each block (that made a one-line 120 MB file take 41 s)."""
    *lines, rest = text.split("\n")
    if lines:
        yield "".join([*pending, lines[0]])
        yield from lines[1:]
        pending.clear()
    if rest:
        pending.append(rest)


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
