"""The Documents panel (add, index with progress, attach, drop, remove) and the sources
under a reply (links, hover snippet, opening the file at its page), on real services."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from pytestqt.qtbot import QtBot

from chatdesk.docs.context import Passage
from chatdesk.services.documents import DocumentService
from chatdesk.ui.citations_bar import CitationsBar
from chatdesk.ui.documents_panel import DROPPED, DocumentsPanel
from chatdesk.ui.main_window import MainWindow
from tests.docs.conftest import PDF_PAGES
from tests.support.pdf_factory import write_encrypted_pdf, write_pdf
from tests.support.scripted_engine import ScriptedEngine
from tests.ui.conftest import wait_for_model, wait_for_reply


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
    attached: list[list[str]] = []
    panel.attached_changed.connect(attached.append)
    with qtbot.waitSignal(panel.indexing_finished, timeout=30000):
        panel.add_paths([tmp_path], "Reports")
    assert attached == [["Reports"]]
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
    assert bar.failure.isHidden()
    bar.show_citations("No sources here.", passages)
    assert bar.isHidden()


def test_a_source_that_cannot_be_opened_says_so_with_its_path(qtbot: QtBot, tmp_path: Path) -> None:
    """QA: with no launcher, clicking a source did nothing visible."""
    pdf = tmp_path / "report.pdf"
    bar = CitationsBar(opener=lambda url: False)
    qtbot.addWidget(bar)
    bar.show_citations("It is long [1].", [Passage(1, str(pdf), 2, 1, 3, "Long.", 0.1)])
    bar.show()
    bar.toggle.setChecked(True)
    bar.label.linkActivated.emit("cite:1")
    assert bar.failure.isVisible()
    assert bar.failure.text().startswith(f"Could not open {pdf}")


def test_a_document_dropped_on_the_chat_is_attached_and_its_passage_cited(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    scripted_engine: ScriptedEngine,
    fake_gguf: Path,
    tmp_path: Path,
) -> None:
    scripted_engine.text = "The Velta tunnel is 14.2 km long [1]. "
    scripted_engine.tokens = 9
    window = make_window(lambda: scripted_engine)
    window.load_model(str(fake_gguf))
    wait_for_model(qtbot, window)
    write_pdf(tmp_path / "report.pdf", PDF_PAGES)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "report.pdf"))])
    point = QPointF(window.rect().center())
    enter = QDragEnterEvent(
        point,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    window.dropEvent(
        QDropEvent(
            point,
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    )
    panel = window.documents_dock.panel
    qtbot.waitUntil(lambda: panel.job is None and panel.names() == [DROPPED], timeout=30000)
    assert window.documents_dock.isVisible()
    assert panel.attached() == [DROPPED]
    cid = window.conversation_id
    assert cid is not None
    assert window.services.document_turns.attached(cid) == [DROPPED]

    window.send("How long is the Velta tunnel?")
    wait_for_reply(qtbot, window)
    sent = scripted_engine.requests[-1]["messages"][-1]["content"]
    assert "[1] report.pdf, page" in sent
    assert "14.2 kilometres" in sent
    widget = window.chat_view.widgets[-1]
    assert not widget.citations.isHidden()
    assert "[1] report.pdf, page" in widget.citations.label.text()
    window.open_conversation(cid)  # shown again from the store
    assert "[1] report.pdf" in window.chat_view.widgets[-1].citations.label.text()
    assert window.chat_view.widgets[0].message.content == "How long is the Velta tunnel?"
    window.services.documents.close()
