"""Small PDFs written by hand for the document tests: text pages, encrypted, damaged.

``write_pdf(path, pages)`` writes one page per list of lines (Helvetica 11 pt), with a
correct cross-reference table, so any PDF reader opens it. ``write_encrypted_pdf`` adds a
standard-security ``/Encrypt`` dictionary whose user password is not empty: readers must
ask for a password. ``write_damaged_pdf`` keeps only the header and half an object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path


def escape(text: str) -> str:
    """A PDF literal string body (Latin-1 text)."""
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def page_stream(lines: Sequence[str]) -> bytes:
    """Content stream drawing the lines top-down."""
    ops = ["BT", "/F1 11 Tf", "14 TL", "50 780 Td"]
    for line in lines:
        ops.append(f"({escape(line)}) Tj T*")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def build_pdf(
    pages: Sequence[Sequence[str]], trailer_extra: str = "", extra_objects: Sequence[bytes] = ()
) -> bytes:
    """The bytes of a PDF with the given pages (and extra objects after the pages)."""
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for index, lines in enumerate(pages):
        content = page_stream(lines)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {5 + 2 * index} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.extend(extra_objects)
    return assemble(objects, trailer_extra)


def assemble(objects: Sequence[bytes], trailer_extra: str = "") -> bytes:
    """A PDF file of numbered ``objects`` (1 is the catalog), with its xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R {trailer_extra}>>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def write_pdf(path: Path, pages: Sequence[Sequence[str]]) -> Path:
    """A readable PDF, one page per list of lines."""
    path.write_bytes(build_pdf(pages))
    return path


def write_encrypted_pdf(path: Path) -> Path:
    """A PDF protected by a (random) user password."""
    number = 4 + 2  # after one page: catalog, pages, font, page, content -> object 6
    owner = hashlib.sha256(b"owner").hexdigest()[:64]
    user = hashlib.sha256(b"user").hexdigest()[:64]
    encrypt = (f"<< /Filter /Standard /V 1 /R 2 /O <{owner}> /U <{user}> /P -44 >>").encode()
    file_id = hashlib.md5(b"chatdesk").hexdigest()
    trailer = f"/Encrypt {number} 0 R /ID [<{file_id}> <{file_id}>] "
    path.write_bytes(build_pdf([["secret text"]], trailer, [encrypt]))
    return path


def write_damaged_pdf(path: Path) -> Path:
    """The first bytes of a PDF, cut in the middle of an object."""
    data = build_pdf([["some text"]])
    path.write_bytes(data[: len(data) // 3])
    return path
