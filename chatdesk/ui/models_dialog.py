"""The Models dialog: catalogue, hub search, a repository's files, downloads, the library.

It talks only to a ModelService. Network calls run on worker threads (``Background``);
download progress arrives on the download thread. Both reach the GUI thread through the
bridge, and download rows are redrawn behind the bridge's ``Throttle``, not on every chunk.
Choosing Load emits ``model_chosen(path)``. Downloads keep running after the dialog closes
(they belong to the service).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.models import (
    CatalogueModel,
    DownloadJob,
    HubError,
    JobState,
    LocalModel,
    ModelService,
    RemoteModel,
    RepoListing,
    SearchSort,
)
from chatdesk.ui.bridge import Background, EventBridge, Throttle
from chatdesk.ui.models_tabs import (
    CatalogueTab,
    FilesTab,
    SearchTab,
    fill_row,
    human_size,
    make_table,
    selected_row,
    set_cell,
)

REDRAW_INTERVAL_MS = 150


class DownloadsTab(QWidget):
    """The download queue: one row per file with a progress bar; cancel, resume."""

    cancel_requested = Signal(int)
    resume_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_ids: list[int] = []
        self.table = make_table(["File", "Progress", "Speed", "Time left", "State"])
        self.table.setObjectName("downloadsTable")
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(1, 260)
        self.pending_label = QLabel()
        self.resume_button = QPushButton("Resume unfinished")
        self.cancel_button = QPushButton("Cancel download")
        bottom = QHBoxLayout()
        bottom.addWidget(self.pending_label, 1)
        bottom.addWidget(self.resume_button)
        bottom.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.cancel_button.clicked.connect(self._cancel)
        self.resume_button.clicked.connect(self.resume_requested.emit)
        self.table.itemSelectionChanged.connect(self._update_cancel)
        self.job_states: dict[int, JobState] = {}
        self.show_pending(0)
        self._update_cancel()

    def show_pending(self, count: int) -> None:
        """Say how many unfinished downloads from earlier runs wait on disk."""
        self.pending_label.setText(
            f"{count} unfinished download(s) from earlier can be resumed." if count else ""
        )
        self.resume_button.setVisible(count > 0)

    def show_job(self, job: DownloadJob) -> None:
        """Add or update the row of ``job``."""
        if job.id not in self.job_ids:
            self.job_ids.append(job.id)
            row = self.table.rowCount()
            self.table.insertRow(row)
            new_bar = QProgressBar()
            new_bar.setRange(0, 1000)
            self.table.setCellWidget(row, 1, new_bar)
        row = self.job_ids.index(job.id)
        set_cell(self.table, row, 0, f"{job.repo_id}/{job.filename}")
        bar = self.table.cellWidget(row, 1)
        if isinstance(bar, QProgressBar):
            bar.setValue(int(1000 * job.downloaded / job.total) if job.total else 0)
            bar.setFormat(progress_text(job))
        running = job.state == JobState.RUNNING
        speed = f"{human_size(int(job.speed))}/s" if running and job.speed else ""
        eta = _duration(job.eta_seconds) if running and job.eta_seconds is not None else ""
        state = f"failed: {job.error}" if job.state == JobState.FAILED else str(job.state)
        if job.warning:
            state = f"{state} ({job.warning})"
        for column, text in ((2, speed), (3, eta), (4, state)):
            set_cell(self.table, row, column, text)
        cell = self.table.item(row, 4)
        if cell is not None:
            cell.setToolTip(state)  # a long error is cut in the cell
        self.job_states[job.id] = job.state
        self._update_cancel()

    def _update_cancel(self) -> None:
        """Cancel only a download that can still be cancelled (waiting or running)."""
        row = selected_row(self.table)
        state = self.job_states.get(self.job_ids[row]) if row is not None else None
        self.cancel_button.setEnabled(state in (JobState.QUEUED, JobState.RUNNING))

    def _cancel(self) -> None:
        row = selected_row(self.table)
        if row is not None:
            self.cancel_requested.emit(self.job_ids[row])


def progress_text(job: DownloadJob) -> str:
    """The progress bar's words: how much arrived while it runs, else what became of it."""
    if job.state in (JobState.FAILED, JobState.CANCELLED, JobState.DONE):
        return str(job.state)
    if not job.total:
        return "waiting"
    return f"%p%  {human_size(job.downloaded)} of {human_size(job.total)}"


def _duration(seconds: float) -> str:
    """Seconds as ``1h 02m``, ``3m 05s`` or ``42s``."""
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    if whole >= 60:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole}s"


class LibraryTab(QWidget):
    """Models on this machine: load, delete, import."""

    load_requested = Signal(object)  # LocalModel
    delete_requested = Signal(object)
    import_requested = Signal()
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models: list[LocalModel] = []
        headers = ["Model", "Size", "Quantisation", "Architecture", "Parameters", "Context"]
        self.table = make_table([*headers, "Template", "Source", "Problem"])
        self.table.setObjectName("libraryTable")
        self.load_button = QPushButton("Load")
        self.load_button.setDefault(True)
        self.delete_button = QPushButton("Delete")
        self.import_button = QPushButton("Import .gguf...")
        self.refresh_button = QPushButton("Refresh")
        bottom = QHBoxLayout()
        for button in (self.import_button, self.refresh_button):
            bottom.addWidget(button)
        bottom.addStretch(1)
        bottom.addWidget(self.delete_button)
        bottom.addWidget(self.load_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.load_button.clicked.connect(lambda: self._emit_selected(self.load_requested))
        self.delete_button.clicked.connect(lambda: self._emit_selected(self.delete_requested))
        self.import_button.clicked.connect(self.import_requested.emit)
        self.refresh_button.clicked.connect(self.refresh_requested.emit)
        self.table.itemDoubleClicked.connect(lambda _i: self._emit_selected(self.load_requested))

    def show_models(self, models: list[LocalModel]) -> None:
        """Fill the table with what each GGUF header says."""
        self.models = models
        self.table.setRowCount(len(models))
        for row, model in enumerate(models):
            meta = model.metadata
            fill_row(
                self.table,
                row,
                [
                    model.name,
                    human_size(model.size_bytes),
                    (meta.file_type if meta else model.quantization) or "",
                    meta.architecture if meta else "",
                    f"{meta.parameter_count / 1e9:.2f}B" if meta else "",
                    f"{meta.context_length:,}" if meta and meta.context_length else "",
                    ("yes" if meta.has_chat_template else "no") if meta else "",
                    model.source,
                    model.problem or "",
                ],
            )

    def _emit_selected(self, signal: Any) -> None:
        row = selected_row(self.table)
        if row is not None:
            signal.emit(self.models[row])


class ModelsDialog(QDialog):
    """Find, download and manage GGUF models; ``model_chosen`` carries the path to load."""

    model_chosen = Signal(str)

    def __init__(self, service: ModelService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(900, 560)
        self.service = service
        self._bridge = EventBridge(self)
        self._background = Background(self._bridge)
        self._dirty_jobs: dict[int, DownloadJob] = {}
        self._redraw = Throttle(self._flush_jobs, REDRAW_INTERVAL_MS, self)
        self._build()
        self._connect()
        self.service.subscribe(self._on_job_thread)
        for job in self.service.jobs():
            self.downloads.show_job(job)
        self.refresh()

    def _build(self) -> None:
        self.tabs = QTabWidget()
        self.catalogue = CatalogueTab()
        self.search = SearchTab()
        self.files = FilesTab()
        self.downloads = DownloadsTab()
        self.library = LibraryTab()
        for widget, title in (
            (self.catalogue, "Recommended"),
            (self.search, "Search the hub"),
            (self.files, "Files"),
            (self.downloads, "Downloads"),
            (self.library, "My models"),
        ):
            self.tabs.addTab(widget, title)
        self.status = QLabel()
        self.status.setObjectName("statusLine")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)

    def _connect(self) -> None:
        self.catalogue.download_requested.connect(self._download_catalogue)
        self.catalogue.show_files.connect(self._show_files)
        self.search.search_requested.connect(self._search)
        self.search.show_files.connect(self._show_files)
        self.files.load_requested.connect(self._list_files)
        self.files.download_requested.connect(self._download_model)
        self.downloads.cancel_requested.connect(self.service.cancel)
        self.downloads.resume_requested.connect(self._resume)
        self.library.load_requested.connect(self._load)
        self.library.delete_requested.connect(self._delete)
        self.library.import_requested.connect(self._import)
        self.library.refresh_requested.connect(self.refresh)

    # background work

    def _run(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run ``work`` off the GUI thread; ``done(result)`` runs on the GUI thread afterwards."""
        self._background.run(work, done, self._task_failed)

    def _task_failed(self, error: BaseException) -> None:
        message = str(error) if isinstance(error, HubError) else f"unexpected error: {error}"
        self.search.set_busy(False)
        self.show_status(message, error=True)

    def show_status(self, text: str, error: bool = False) -> None:
        """One line under the tabs: progress notes or the last error."""
        self.status.setProperty("error", error)
        self.status.setText(text)

    # catalogue, search, files

    def refresh(self) -> None:
        """Reload the catalogue, the library and the unfinished downloads (local only)."""
        try:
            self.catalogue.show_choices(self.service.catalogue())
        except HubError as error:
            self.show_status(str(error), error=True)
        self.library.show_models(self.service.local_models())
        self.downloads.show_pending(len(self.service.pending()))

    def _search(self, query: str, sort: str) -> None:
        self.search.set_busy(True)
        self.show_status(f"Searching for {query!r}...")
        order = cast(SearchSort, sort)
        self._run(lambda: self.service.search(query, order), self._search_done)

    def _search_done(self, repos: list[Any]) -> None:
        self.search.set_busy(False)
        self.search.show_results(repos)
        self.show_status(f"{len(repos)} repositories found." if repos else "Nothing found.")

    def _show_files(self, repo_id: str) -> None:
        self.tabs.setCurrentWidget(self.files)
        self.files.request(repo_id)

    def _list_files(self, repo_id: str) -> None:
        self.show_status(f"Listing the files of {repo_id}...")
        self._run(lambda: self.service.repo_files(repo_id), self._files_done)

    def _files_done(self, listing: RepoListing) -> None:
        fits = [self.service.fit(model.size) for model in listing.models]
        downloaded = [
            all(self.service.is_downloaded(p.repo_id, p.filename) for p in model.parts)
            for model in listing.models
        ]
        self.files.show_listing(listing, fits, downloaded)
        self.show_status(f"{len(listing.models)} GGUF model(s) in {listing.repo_id}.")

    # downloads

    def _download_catalogue(self, model: CatalogueModel, quantization: str) -> None:
        file = model.file_for(quantization) or model.default_file
        self._queue(lambda: [self.service.download_catalogue_file(model, file)])

    def _download_model(self, model: RemoteModel) -> None:
        self._queue(lambda: self.service.download_model(model))

    def _resume(self) -> None:
        self._queue(self.service.resume_pending)

    def _queue(self, add: Callable[[], list[DownloadJob]]) -> None:
        try:
            jobs = add()
        except HubError as error:
            self.show_status(str(error), error=True)
            return
        for job in jobs:
            self.downloads.show_job(job)
        self.tabs.setCurrentWidget(self.downloads)
        self.show_status(f"Queued {len(jobs)} file(s).")

    def _on_job_thread(self, job: DownloadJob) -> None:
        """(download thread) Pass a job snapshot to the GUI thread."""
        self._bridge.dispatch(lambda: self._job_changed(job))

    def _job_changed(self, job: DownloadJob) -> None:
        self._dirty_jobs[job.id] = job
        self._redraw()
        if job.finished:
            self._redraw.flush()  # an ended download is shown at once

    def _flush_jobs(self) -> None:
        jobs, self._dirty_jobs = self._dirty_jobs, {}
        for job in jobs.values():
            self.downloads.show_job(job)
        if any(job.state == JobState.DONE for job in jobs.values()):
            self.refresh()
        failed = [job for job in jobs.values() if job.state == JobState.FAILED]
        unverified = [job for job in jobs.values() if job.state == JobState.DONE and job.warning]
        if failed:
            self.show_status(f"Download failed: {failed[-1].error}", error=True)
        elif unverified:
            job = unverified[-1]
            self.show_status(f"Downloaded {job.filename}, {job.warning}", error=True)

    # library

    def _load(self, model: LocalModel) -> None:
        if model.problem:
            self.show_status(f"Cannot load {model.name}: {model.problem}", error=True)
            return
        self.model_chosen.emit(str(model.path))
        self.accept()

    def _delete(self, model: LocalModel) -> None:
        action = "Forget" if model.source == "used" else "Delete"
        if not self.confirm(f"{action} {model.name}?"):
            return
        try:
            self.service.delete(model.name)
        except HubError as error:
            self.show_status(str(error), error=True)
            return
        self.show_status(
            f"{action}d {model.name}." if action == "Delete" else f"Forgot {model.name}."
        )
        self.refresh()

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question."""
        answer = QMessageBox.question(self, "Models", question)
        return answer == QMessageBox.StandardButton.Yes

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a GGUF model", "", "GGUF models (*.gguf)"
        )
        if path:
            self.import_path(Path(path))

    def import_path(self, path: Path) -> None:
        """Copy a .gguf into the library and show it."""
        try:
            model = self.service.import_model(path)
        except HubError as error:
            self.show_status(str(error), error=True)
            return
        self.show_status(f"Imported {model.name}.")
        self.refresh()

    def done(self, result: int) -> None:
        """Stop listening to downloads (they go on) and drop pending results."""
        self.service.unsubscribe(self._on_job_thread)
        self._redraw.cancel()
        self._background.close()
        super().done(result)
