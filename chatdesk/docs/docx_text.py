"""DOCX text with python-docx: paragraphs and table cells in document order.

A DOCX has no fixed pages (pagination is the word processor's layout), so its sections
have page None and are numbered by paragraph: a chunk's "line range" is the range of
paragraphs it covers. A file that is not a valid DOCX (a renamed file, a damaged zip) is
refused with the reason.

A DOCX is a zip, so before python-docx unpacks it the sizes its parts declare are added
up: over ``MAX_UNPACKED_BYTES`` (or more than ``MAX_RATIO`` times the file) it is refused as
a decompression bomb. zipfile never inflates a part past its declared size, so the check
holds for parts that lie about it. Entity references (a DTD in the XML) stay unresolved
(python-docx parses with ``resolve_entities=False``: no billion laughs) and are skipped.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
from docx.opc.exceptions import PackageNotFoundError

from chatdesk.docs.extract_types import ExtractionError, Section

MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200


def check_unpacked_size(path: Path) -> None:
    """ExtractionError when the zip's parts declare more than the limits allow."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ExtractionError(f"damaged or not a DOCX file: {error}") from None
    packed = max(path.stat().st_size, 1)
    if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_RATIO * max(packed, 1 << 20):
        raise ExtractionError(
            f"decompression bomb: {packed / 1e6:.1f} MB unpacking to {unpacked / 1e6:,.0f} MB "
            f"(the limit is {MAX_UNPACKED_BYTES / 1e6:.0f} MB)"
        )


def open_docx(path: Path) -> Any:
    """The python-docx document, or ExtractionError with the reason."""
    check_unpacked_size(path)
    try:
        return docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ExtractionError(f"damaged or not a DOCX file: {error}") from None
    except SyntaxError as error:  # lxml's XMLSyntaxError: e.g. nested over 256 levels deep
        if "unknown error" in str(error) or "memory" in str(error).lower():  # malloc failed
            raise ExtractionError(
                "too large to parse within the reader's memory limit (refused)"
            ) from None
        raise ExtractionError(f"damaged DOCX (its XML cannot be read: {error})") from None


def is_text(node: Any) -> bool:
    """A ``w:t`` element (entity references and comments have no string tag)."""
    return isinstance(node.tag, str) and node.tag.endswith("}t")


def block_texts(document: Any) -> Iterator[str]:
    """Paragraph texts, and each table row as one line of cells separated by " | "."""
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
        if tag == "p":
            yield "".join(node.text or "" for node in child.iter() if is_text(node))
        elif tag == "tbl":
            for row in child.iter():
                if isinstance(row.tag, str) and row.tag.endswith("}tr"):
                    cells = [
                        "".join(t.text or "" for t in cell.iter() if is_text(t))
                        for cell in row
                        if isinstance(cell.tag, str) and cell.tag.endswith("}tc")
                    ]
                    yield " | ".join(cells)


def docx_sections(path: Path) -> Iterator[Section]:
    """One section per non-empty paragraph (or table row), numbered from 1."""
    for number, text in enumerate(block_texts(open_docx(path)), start=1):
        if text.strip():
            yield Section(text, None, number)
