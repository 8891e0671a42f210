"""DOCX text with python-docx: paragraphs and table cells in document order.

A DOCX has no fixed pages (pagination is the word processor's layout), so its sections
have page None and are numbered by paragraph: a chunk's "line range" is the range of
paragraphs it covers. A file that is not a valid DOCX (a renamed file, a damaged zip) is
refused with the reason.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
from docx.opc.exceptions import PackageNotFoundError

from chatdesk.docs.extract_types import ExtractionError, Section


def open_docx(path: Path) -> Any:
    """The python-docx document, or ExtractionError with the reason."""
    try:
        return docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ExtractionError(f"damaged or not a DOCX file: {error}") from None


def block_texts(document: Any) -> Iterator[str]:
    """Paragraph texts, and each table row as one line of cells separated by " | "."""
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield "".join(node.text or "" for node in child.iter() if node.tag.endswith("}t"))
        elif tag == "tbl":
            for row in child.iter():
                if row.tag.endswith("}tr"):
                    cells = [
                        "".join(t.text or "" for t in cell.iter() if t.tag.endswith("}t"))
                        for cell in row
                        if cell.tag.endswith("}tc")
                    ]
                    yield " | ".join(cells)


def docx_sections(path: Path) -> Iterator[Section]:
    """One section per non-empty paragraph (or table row), numbered from 1."""
    for number, text in enumerate(block_texts(open_docx(path)), start=1):
        if text.strip():
            yield Section(text, None, number)
