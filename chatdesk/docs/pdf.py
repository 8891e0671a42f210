"""PDF text with pypdfium2, one page at a time (see ``extract`` for why pypdfium2).

Each page is opened, read and closed before the next, and the document itself is reopened
every few hundred pages, so a 5,000-page PDF costs about the memory of a short one. An
encrypted PDF (a password is needed to open it) and a damaged one are refused with the
reason pdfium gives; a page whose text cannot be read is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]

from chatdesk.docs.extract_types import ExtractionError, Section

PAGES_PER_OPENING = 250


def open_pdf(path: Path) -> pdfium.PdfDocument:
    """The document, or ExtractionError saying why it cannot be opened."""
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        reason = str(error)
        if "password" in reason.lower():
            raise ExtractionError("encrypted PDF (a password is needed to open it)") from None
        raise ExtractionError(f"damaged or not a PDF: {reason}") from None


def page_text(document: pdfium.PdfDocument, index: int) -> str:
    """The text of one page (0-based index), lines ending in ``\\n``."""
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            text = str(textpage.get_text_bounded())
        finally:
            textpage.close()
    finally:
        page.close()
    return text.replace("\r\n", "\n").replace("\r", "\n")


def pdf_sections(path: Path) -> Iterator[Section]:
    """One section per page (1-based page numbers); pages without text are skipped.

    The document is closed and opened again every ``PAGES_PER_OPENING`` pages: pdfium keeps
    what it parsed (page trees, fonts, streams) until the document closes, so without this
    the memory of a long PDF grows with every page read.
    """
    first = 0
    while True:
        document = open_pdf(path)
        try:
            count = len(document)
            for index in range(first, min(first + PAGES_PER_OPENING, count)):
                try:
                    text = page_text(document, index)
                except pdfium.PdfiumError:
                    continue
                if text.strip():
                    yield Section(text, index + 1, 1)
        finally:
            document.close()
        first += PAGES_PER_OPENING
        if first >= count:
            return
