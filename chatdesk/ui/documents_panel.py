"""The Documents panel: collections, adding files and folders, indexing progress, attaching.

Talks only to ``chatdesk.services.documents.DocumentService``. Indexing runs in the
service's background thread; its progress and end come back through the bridge
(``report_progress`` / ``report_done``: callbacks any thread may call), then the panel's
signals fire on the GUI thread and the progress is redrawn behind a ``Throttle``, so the
window never waits. Each collection is a checkable row: the checked ones are attached
to the open conversation (``attached_changed``). Files and folders dropped on the panel
are added to the selected collection (or to "Dropped files") and indexed at once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.documents import (
    DocumentsError,
    DocumentService,
    IndexJob,
    IndexProgress,
    IndexReport,
    describe,
)
from chatdesk.ui.bridge import EventBridge, Throttle
from chatdesk.ui.flow_layout import FlowLayout
from chatdesk.ui.theme import set_icon

DROPPED = "Dropped files"
PROGRESS_MS = 100  # indexing progress redrawn at most ten times a second


class DocumentsPanel(QWidget):
    """Collections with their counts; add, remove, index with progress, attach."""

    attached_changed = Signal(list)  # names of the checked collections
    progress_changed = Signal(object)  # IndexProgress (on the GUI thread)
    indexing_finished = Signal(object, object)  # IndexReport | None, error text | None

    def __init__(
        self,
        service: DocumentService,
        parent: QWidget | None = None,
        bridge: EventBridge | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.job: IndexJob | None = None
        self.bridge = bridge or EventBridge(self)
        self.report_progress = self.bridge.from_thread(self.progress_changed.emit)
        self.report_done = self.bridge.from_thread(self.indexing_finished.emit)
        self._progress = Throttle(self._show_progress, PROGRESS_MS, self)
        self.setAcceptDrops(True)
        self.collections = QListWidget(self)
        self.collections.setAccessibleName("Document collections")
        self.collections.itemChanged.connect(self._emit_attached)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.hide()
        self.add_files_button = QPushButton("Add files…", self)
        self.add_folder_button = QPushButton("Add folder…", self)
        self.remove_button = QPushButton("Remove", self)
        self.cancel_button = QPushButton("Stop indexing", self)
        self.cancel_button.hide()
        for button, action, name in (
            (self.add_files_button, "documents", "Add files to the collection"),
            (self.add_folder_button, "open-folder", "Add a folder to the collection"),
            (self.remove_button, "delete", "Remove the collection"),
            (self.cancel_button, "stop", "Stop indexing"),
        ):
            set_icon(button, action)
            button.setAccessibleName(name)
        self._layout()
        self.add_files_button.clicked.connect(self._choose_files)
        self.add_folder_button.clicked.connect(self._choose_folder)
        self.remove_button.clicked.connect(self._remove_selected)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress_changed.connect(self._progress)
        self.indexing_finished.connect(self._finished)
        self.refresh()

    def _layout(self) -> None:
        buttons = FlowLayout(spacing=6)  # wraps in a narrow panel instead of widening it
        for button in (self.add_files_button, self.add_folder_button, self.remove_button):
            buttons.addWidget(button)
        column = QVBoxLayout(self)
        title = QLabel("Documents (checked: used by this chat)", self)
        title.setWordWrap(True)
        column.addWidget(title)
        column.addWidget(self.collections, 1)
        column.addLayout(buttons)
        column.addWidget(self.bar)
        column.addWidget(self.status)
        column.addWidget(self.cancel_button)

    # -- the list -------------------------------------------------------------------------

    def refresh(self, attached: list[str] | None = None) -> None:
        """Reload the collections; ``attached`` (default: as now) are checked."""
        keep = self.attached() if attached is None else attached
        self.collections.blockSignals(True)
        self.collections.clear()
        for summary in self.service.collections():
            failed = f", {summary.failed} failed" if summary.failed else ""
            item = QListWidgetItem(
                f"{summary.name}: {summary.indexed}/{summary.files} files, "
                f"{summary.chunks} chunks{failed}"
            )
            item.setData(Qt.ItemDataRole.UserRole, summary.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = Qt.CheckState.Checked if summary.name in keep else Qt.CheckState.Unchecked
            item.setCheckState(checked)
            self.collections.addItem(item)
        self.collections.blockSignals(False)

    def names(self) -> list[str]:
        """Every collection's name, as listed."""
        items = [self.collections.item(row) for row in range(self.collections.count())]
        return [str(item.data(Qt.ItemDataRole.UserRole)) for item in items]

    def attached(self) -> list[str]:
        """The checked collections."""
        items = [self.collections.item(row) for row in range(self.collections.count())]
        return [
            str(item.data(Qt.ItemDataRole.UserRole))
            for item in items
            if item.checkState() == Qt.CheckState.Checked
        ]

    def _emit_attached(self) -> None:
        self.attached_changed.emit(self.attached())

    def selected_name(self) -> str | None:
        """The highlighted collection, if any."""
        item = self.collections.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    # -- adding and indexing --------------------------------------------------------------

    def add_paths(self, paths: list[Path], collection: str) -> None:
        """Add files/folders to a collection, attach it, and index it in the background."""
        try:
            self.service.add(paths, collection)
        except DocumentsError as error:
            self.status.setText(str(error))
            return
        self.refresh([*self.attached(), collection])
        self._emit_attached()
        self.start_indexing(collection)

    def start_indexing(self, collection: str) -> None:
        """Index a collection in the background with progress shown here."""
        self.bar.setValue(0)
        self.bar.show()
        self.cancel_button.show()
        self.status.setText(f"Indexing {collection}…")
        self.job = self.service.start_indexing(collection, self.report_progress, self.report_done)

    def cancel(self) -> None:
        """Stop the running indexing after its current batch."""
        if self.job is not None:
            self.job.cancel()

    def _show_progress(self, progress: IndexProgress) -> None:
        share = progress.bytes_done / progress.bytes_total if progress.bytes_total else 0.0
        self.bar.setValue(int(share * 1000))
        current = f"\n{Path(progress.current).name}" if progress.current else ""
        self.status.setText(f"{progress.collection}: {describe(progress)}{current}")

    def _finished(self, report: IndexReport | None, error: str | None) -> None:
        job = self.job
        if job is not None and report is not None and report.progress.collection != job.collection:
            self.refresh()  # a background run (resume, watcher) ended, not the one shown
            return
        self._progress.cancel()
        self.bar.hide()
        self.cancel_button.hide()
        self.job = None
        if error is not None or report is None:
            self.status.setText(error or "indexing failed")
        else:
            failed = "".join(f"\n{Path(p).name}: {why}" for p, why in report.failures)
            self.status.setText(
                f"{report.progress.collection}: {describe(report.progress)}"
                + (" (stopped)" if report.progress.cancelled else "")
                + failed
            )
        self.refresh()

    # -- dialogs and drops ----------------------------------------------------------------

    def _ask_collection(self) -> str | None:
        name, ok = QInputDialog.getText(
            self, "Collection", "Add to collection:", text=self.selected_name() or "Documents"
        )
        return name.strip() if ok and name.strip() else None

    def _choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add documents")
        if files and (name := self._ask_collection()):
            self.add_paths([Path(f) for f in files], name)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of documents")
        if folder and (name := self._ask_collection()):
            self.add_paths([Path(folder)], name)

    def _remove_selected(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.service.remove(name)
            self.refresh()
            self._emit_attached()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths, self.selected_name() or DROPPED)
