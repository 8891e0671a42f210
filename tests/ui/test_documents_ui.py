"""The Documents panel (add, index with progress, attach, drop, remove) and the sources
under a reply (links, hover snippet, opening the file at its page), on real services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from chatdesk.docs.context import Passage
from chatdesk.services.documents import DocumentService
from chatdesk.ui.citations_bar import CitationsBar
from chatdesk.ui.documents_panel import DROPPED, DocumentsPanel
from tests.docs.conftest import PDF_PAGES
from tests.support.pdf_factory import write_encrypted_pdf, write_pdf


@pytest.fixture
def service(chatdesk_home: Path) -> Iterator[DocumentService]:
    documents = DocumentService(chatdesk_home)
    yield documents
    documents.close()


def test_adding_a_folder_indexes_it_with_progress_and_attaches_it(
    qtbot: QtBot, service: DocumentService, tmp_path: Path
) -> None:
    write_pdf(tmp_path / "report.pdf", PDF_PAGES)
    write_encrypted_pdf(tmp_path / "locked.pdf")
    panel = DocumentsPanel(service)
    qtbot.addWidget(panel)
    progress: list[object] = []
    panel.progress_changed.connect(progress.append)
    with qtbot.waitSignal(panel.attached_changed) as attached:
        panel.add_paths([tmp_path], "Reports")
    assert attached.args == [["Reports"]]
    with qtbot.waitSignal(panel.indexing_finished, timeout=30000):
        pass
    assert progress
    assert panel.names() == ["Reports"]
    assert panel.attached() == ["Reports"]
    assert panel.collections.item(0).text() == "Reports: 1/2 files, 3 chunks, 1 failed"
    assert "locked.pdf: encrypted PDF" in panel.status.text()
    assert panel.bar.isHidden()


def test_unchecking_detaches_and_remove_forgets(
    qtbot: QtBot, service: DocumentService, tmp_path: Path
) -> None:
    (tmp_path / "a.md").write_text("alpha\n")
    service.add([tmp_path / "a.md"], "A")
    service.index_collection("A")
    panel = DocumentsPanel(service)
    qtbot.addWidget(panel)
    panel.refresh(["A"])
    with qtbot.waitSignal(panel.attached_changed) as attached:
        panel.collections.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert attached.args == [[]]
    panel.collections.setCurrentRow(0)
    panel.remove_button.click()
    assert panel.names() == []
    assert service.collections() == []


def test_dropped_files_are_added_and_indexed(
    qtbot: QtBot, service: DocumentService, tmp_path: Path
) -> None:
    note = tmp_path / "note.md"
    note.write_text("The heron nests by the mill pond.\n")
    panel = DocumentsPanel(service)
    qtbot.addWidget(panel)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(note))])
    drop = QDropEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(panel.indexing_finished, timeout=30000):
        panel.dropEvent(drop)
    assert panel.attached() == [DROPPED]
    assert Path(service.search("heron", [DROPPED])[0].file) == note


def test_sources_under_a_reply_link_hover_and_open(qtbot: QtBot, tmp_path: Path) -> None:
    pdf = tmp_path / "report <b>.pdf"
    opened: list[QUrl] = []
    bar = CitationsBar(opener=lambda url: opened.append(url) or True)
    qtbot.addWidget(bar)
    passages = [
        Passage(1, str(pdf), 2, 1, 3, "The Velta tunnel is 14.2 km long.", 0.1),
        Passage(2, str(tmp_path / "notes.md"), None, 4, 9, "Roses in February.", 0.0),
    ]
    bar.show_citations("It is 14.2 km long [1].", passages)
    assert not bar.isHidden()
    assert "[1] report &lt;b&gt;.pdf, page 2" in bar.label.text()
    assert "notes.md" not in bar.label.text()  # not cited
    assert bar.tooltip_for("cite:1") == (
        "report <b>.pdf, page 2\n\nThe Velta tunnel is 14.2 km long."
    )
    bar.label.linkActivated.emit("cite:1")
    assert [(url.toLocalFile(), url.fragment()) for url in opened] == [(str(pdf), "page=2")]
    bar.show_citations("No sources here.", passages)
    assert bar.isHidden()
