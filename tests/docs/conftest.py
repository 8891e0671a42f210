"""Documents made in the test: a PDF, a DOCX, Markdown, HTML, and bad files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docx
import pytest

from chatdesk.services.documents import DocumentService
from tests.support.pdf_factory import write_pdf

PDF_PAGES = [
    ["Annual report of the Freedonia Rail Company.", "Chapter one: the early years."],
    [
        "Chapter two: the network.",
        "The longest tunnel of the network is the Velta tunnel,",
        "measuring 14.2 kilometres under the Marsh mountains.",
    ],
    ["Chapter three: finances.", "Ticket revenue rose by nine percent in the last year."],
]


def write_docx(path: Path, paragraphs: list[str]) -> Path:
    """A DOCX with one paragraph per string, written with python-docx."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A folder of documents: PDF, DOCX, Markdown, HTML and code, in a sub-folder too."""
    folder = tmp_path / "library"
    (folder / "notes").mkdir(parents=True)
    write_pdf(folder / "report.pdf", PDF_PAGES)
    write_docx(
        folder / "minutes.docx",
        [
            "Minutes of the board meeting.",
            "Present: the whole board.",
            "The board decided to buy seven electric locomotives from Ostrava Works.",
        ],
    )
    (folder / "notes" / "garden.md").write_text(
        "# Garden\n\nTomatoes need sun.\n\n## Roses\n\nPrune the roses in late February.\n",
        encoding="utf-8",
    )
    (folder / "page.html").write_text(
        "<html><head><script>var hidden = 'scriptword';</script><style>p {}</style></head>\n"
        "<body>\n<h1>Lighthouse</h1>\n<p>The Kelso lighthouse was built in 1871.</p>\n"
        "</body></html>\n",
        encoding="utf-8",
    )
    (folder / "tool.py").write_text(
        "def frobnicate(widget):\n    return widget * 2\n", encoding="utf-8"
    )
    return folder


@pytest.fixture
def service(chatdesk_home: Path) -> Iterator[DocumentService]:
    """A documents service on the test's data root (keywords only: no engine is started)."""
    documents = DocumentService(chatdesk_home)
    yield documents
    documents.close()
