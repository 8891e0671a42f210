"""Text extraction per format and chunk provenance: pages, lines, offsets."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from chatdesk.docs.chunking import CHUNK_CHARS, chunk_sections
from chatdesk.docs.extract import extract
from chatdesk.docs.extract_types import ExtractionError, Section
from tests.docs.conftest import PDF_PAGES
from tests.support.pdf_factory import write_damaged_pdf, write_encrypted_pdf


def test_pdf_pages_are_numbered_from_one(library: Path) -> None:
    sections = list(extract(library / "report.pdf"))
    assert [s.page for s in sections] == [1, 2, 3]
    assert "Velta tunnel" in sections[1].text
    assert sections[1].text.splitlines()[:1] == [PDF_PAGES[1][0]]


def test_docx_paragraphs_are_numbered(library: Path) -> None:
    sections = list(extract(library / "minutes.docx"))
    assert [(s.first_line, s.page) for s in sections] == [(1, None), (2, None), (3, None)]
    assert "seven electric locomotives" in sections[2].text


def test_html_drops_scripts_and_keeps_source_lines(library: Path) -> None:
    sections = list(extract(library / "page.html"))
    text = "\n".join(s.text for s in sections)
    assert "scriptword" not in text
    assert "p {}" not in text
    assert [(s.text, s.first_line) for s in sections] == [
        ("Lighthouse", 3),
        ("The Kelso lighthouse was built in 1871.", 4),
    ]


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("locked.pdf", write_encrypted_pdf, "encrypted PDF"),
        ("broken.pdf", write_damaged_pdf, "damaged or not a PDF"),
    ],
)
def test_bad_pdfs_give_a_reason(tmp_path: Path, name: str, make: object, reason: str) -> None:
    path = make(tmp_path / name)  # type: ignore[operator]
    with pytest.raises(ExtractionError, match=reason):
        list(extract(path))


def test_binary_named_txt_and_a_huge_file_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 100)
    with pytest.raises(ExtractionError, match="binary content"):
        list(extract(binary))
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # a sparse 2 GB file: no disk space used
    with pytest.raises(ExtractionError, match=r"too large: 2\.1 GB"):
        list(extract(huge))


def test_latin1_text_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    with pytest.raises(ExtractionError, match="not UTF-8"):
        list(extract(path))


def test_chunks_carry_exact_lines_and_offsets(tmp_path: Path) -> None:
    lines = [f"Line {n} says something about topic {n % 7}." for n in range(1, 401)]
    path = tmp_path / "long.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    full = "\n".join(lines)
    chunks = list(chunk_sections(extract(path)))
    assert len(chunks) > 10
    for chunk in chunks:
        assert len(chunk.text) <= CHUNK_CHARS
        assert full[chunk.char_start : chunk.char_end] == chunk.text
        assert chunk.text.splitlines() == lines[chunk.line_start - 1 : chunk.line_end]
    covered = {n for c in chunks for n in range(c.line_start, c.line_end + 1)}
    assert covered == set(range(1, 401))
    assert all(b.line_start <= a.line_end for a, b in itertools.pairwise(chunks))


def test_a_very_long_line_is_cut_at_spaces_and_rejoined_exactly() -> None:
    line = " ".join(f"word{n}" for n in range(1000))
    chunks = list(chunk_sections([Section(line, 4, 1)]))
    assert len(chunks) > 3
    assert all(c.page == 4 and c.line_start == 1 for c in chunks)
    assert all(line[c.char_start : c.char_end] == c.text for c in chunks)
    assert chunks[0].char_start == 0
    assert chunks[-1].char_end == len(line)


def test_chunks_never_cross_pages(library: Path) -> None:
    chunks = list(chunk_sections(extract(library / "report.pdf")))
    assert [c.page for c in chunks] == [1, 2, 3]
    assert "14.2 kilometres" in chunks[1].text
