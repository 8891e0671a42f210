"""Hostile documents for the indexing tests and benchmarks, built in the test.

Each writer makes one attack seen in issue 21: decompression bombs (a DOCX whose parts
unpack to gigabytes, a DOCX dense enough to need gigabytes once parsed, a PDF whose
content stream inflates to hundreds of MB), XML attacks in a DOCX (billion laughs, a DTD
entity, nesting deeper than libxml2's 256 levels), and the file-system ones (a symbolic
link loop, folders 1,500 deep, a non-UTF-8 name, a FIFO, links to /dev/zero and
/dev/urandom). ``hostile_library`` puts them all in one folder next to good files.
"""

from __future__ import annotations

import os
import random
import zipfile
import zlib
from pathlib import Path

from tests.support.pdf_factory import assemble

NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def write_docx_parts(path: Path, document_xml: str | bytes, prolog: str = "") -> Path:
    """A minimal DOCX (content types, relationships, ``word/document.xml``)."""
    body = document_xml if isinstance(document_xml, bytes) else document_xml.encode()
    head = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("word/document.xml", head + body)
    return path


def docx_document(inner: str) -> str:
    return f"<w:document {NS}><w:body>{inner}</w:body></w:document>"


def write_zip_bomb_docx(path: Path, unpacked: int = 1 << 30) -> Path:
    """A DOCX whose document part unpacks to ``unpacked`` bytes (default 1 GiB), streamed."""
    block = paragraph("a" * 60).encode() * 16384
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0"?><w:document {NS}><w:body>'.encode())
            for _ in range(unpacked // len(block)):
                part.write(block)
            part.write(b"</w:body></w:document>")
    return path


def write_dense_docx(path: Path, paragraphs: int = 1_500_000) -> Path:
    """A DOCX under the unpacked-size limits whose parsed tree needs gigabytes."""
    rng = random.Random(21)
    words = ["".join(rng.choice("abcdefghij") for _ in range(6)) for _ in range(512)]
    inner = "".join(paragraph(words[i % 512]) for i in range(paragraphs))
    return write_docx_parts(path, docx_document(inner))


def write_billion_laughs_docx(path: Path) -> Path:
    """The classic entity expansion: ten levels of ten references (10^9 'lol')."""
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    prolog = "<!DOCTYPE w:document [" + "".join(levels) + "]>"
    return write_docx_parts(path, docx_document(paragraph("&lol9;") + paragraph("safe")), prolog)


def write_entity_docx(path: Path) -> Path:
    """A DOCX whose text holds a DTD entity reference (python-docx keeps it unresolved)."""
    prolog = '<!DOCTYPE w:document [<!ENTITY company "Initech">]>'
    inner = paragraph("Report of &company; for the year") + paragraph("Budget approved.")
    return write_docx_parts(path, docx_document(inner), prolog)


def write_deep_docx(path: Path, depth: int = 400) -> Path:
    """A DOCX whose XML nests deeper than libxml2's default limit of 256."""
    inner = "<w:sdt><w:sdtContent>" * depth + paragraph("deep") + "</w:sdtContent></w:sdt>" * depth
    return write_docx_parts(path, docx_document(inner))


def write_pdf_bomb(path: Path, inflated: int = 640 << 20) -> Path:
    """A one-page PDF whose content stream (FlateDecode) inflates to ``inflated`` bytes."""
    compressor = zlib.compressobj(1)
    line = b"BT /F1 1 Tf 10 10 Td (x) Tj ET\n" * 4096
    parts = [compressor.compress(line) for _ in range(inflated // len(line))]
    stream = b"".join(parts) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    path.write_bytes(assemble(objects))
    return path


def make_deep_folders(root: Path, depth: int = 1500) -> Path:
    """``root/d/d/.../d/deep.md``, ``depth`` folders down."""
    root.mkdir()
    folder = root
    for _ in range(depth):  # os.makedirs recurses: it would fail at this depth itself
        folder = folder / "d"
        folder.mkdir()
    (folder / "deep.md").write_text("The deepest note says: obsidian.\n", encoding="utf-8")
    return root


def special_files(folder: Path) -> dict[str, Path]:
    """A FIFO, links to /dev/zero and /dev/urandom, a link loop: to be named explicitly."""
    folder.mkdir(parents=True, exist_ok=True)
    fifo = folder / "pipe.txt"
    os.mkfifo(fifo)
    zero, urandom, loop = folder / "zero.txt", folder / "random.txt", folder / "loop.md"
    zero.symlink_to("/dev/zero")
    urandom.symlink_to("/dev/urandom")
    loop.symlink_to(loop)
    return {"fifo": fifo, "zero": zero, "urandom": urandom, "loop": loop}


def write_non_utf8_name(folder: Path) -> Path:
    """A text file whose name holds the byte 0xE9 (Latin-1 'é'), not valid UTF-8."""
    name = os.path.join(os.fsencode(folder), b"caf\xe9.txt")
    with open(name, "wb") as handle:
        handle.write(b"Cafe notes: espresso.\n")
    return Path(os.fsdecode(name))


def hostile_library(root: Path, bombs: bool = True) -> Path:
    """Good files with every hostile kind beside them (bombs: the slow-to-build ones)."""
    folder = root / "hostile"
    folder.mkdir(parents=True)
    (folder / "good.md").write_text("Lighthouse keepers log the weather.\n", encoding="utf-8")
    write_billion_laughs_docx(folder / "laughs.docx")
    write_entity_docx(folder / "entity.docx")
    write_deep_docx(folder / "deep.docx")
    write_non_utf8_name(folder)
    (folder / "trap.md").symlink_to(folder / "trap.md")
    make_deep_folders(folder / "nest")
    if bombs:
        write_zip_bomb_docx(folder / "zipbomb.docx")
        write_pdf_bomb(folder / "bomb.pdf")
    return folder
