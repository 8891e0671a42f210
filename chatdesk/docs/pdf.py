"""PDF text with pypdfium2, one page at a time (see ``extract`` for why pypdfium2).

Each page is opened, read and closed before the next, so a 5,000-page PDF costs the memory
of one page. An encrypted PDF (a password is needed to open it) and a damaged one are
refused with the reason pdfium gives; a page whose text cannot be read is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]

from chatdesk.docs.extract_types import ExtractionError, Section


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
    """One section per page (1-based page numbers); pages without text are skipped."""
    document = open_pdf(path)
    try:
        for index in range(len(document)):
            try:
                text = page_text(document, index)
            except pdfium.PdfiumError:
                continue
            if text.strip():
                yield Section(text, index + 1, 1)
    finally:
        document.close()
