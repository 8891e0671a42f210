"""The hub-facing tabs of the Models dialog: catalogue, hub search, a repository's files.

Each tab only shows data and asks for actions through signals; the dialog runs the network
calls off the GUI thread and feeds results back with the ``show_*`` methods.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.models import (
    CatalogueChoice,
    CatalogueModel,
    Fit,
    RemoteModel,
    RemoteRepo,
    RepoListing,
    SearchSort,
    speed_text,
)

FIT_TEXT = {Fit.FITS: "Fits", Fit.TIGHT: "Tight", Fit.WONT_FIT: "Won't fit"}
SORT_CHOICES: list[tuple[str, SearchSort]] = [
    ("Most downloaded", "downloads"),
    ("Most liked", "likes"),
    ("Recently updated", "last_modified"),
]


def human_size(size: int) -> str:
    """Bytes as a short decimal size."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


def make_table(headers: list[str]) -> QTableWidget:
    """A read-only, row-selecting table with the given column headers."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return table


def fill_row(table: QTableWidget, row: int, cells: list[str], bold: bool = False) -> None:
    """Set one row's texts (and optionally make it bold)."""
    for column, text in enumerate(cells):
        item = QTableWidgetItem(text)
        if bold:
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)
        table.setItem(row, column, item)


def set_cell(table: QTableWidget, row: int, column: int, text: str) -> None:
    """Set one cell's text."""
    item = table.item(row, column)
    if item is None:
        table.setItem(row, column, QTableWidgetItem(text))
    else:
        item.setText(text)


def selected_row(table: QTableWidget) -> int | None:
    """The selected row, or None."""
    rows = table.selectionModel().selectedRows()
    return rows[0].row() if rows else None


class CatalogueTab(QWidget):
    """Curated models with their fit; the recommended one first and in bold."""

    download_requested = Signal(object, str)  # CatalogueModel, quantisation
    show_files = Signal(str)  # repo id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choices: list[CatalogueChoice] = []
        self.table = make_table(
            ["Model", "Parameters", "Size", "Fit", "Speed here", "License", "Context", ""]
        )
        self.table.setObjectName("catalogueTable")
        self.summary = QLabel()
        self.summary.setObjectName("recommendation")
        self.summary.setWordWrap(True)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.quant = QComboBox()
        self.quant.setAccessibleName("Quantisation")
        self.download_button = QPushButton("Download")
        self.files_button = QPushButton("All files on the hub...")
        self._layout()
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.download_button.clicked.connect(self._download)
        self.files_button.clicked.connect(self._files)
        self._selection_changed()

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("Quantisation:"))
        buttons.addWidget(self.quant)
        buttons.addStretch(1)
        buttons.addWidget(self.files_button)
        buttons.addWidget(self.download_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.description)
        layout.addLayout(buttons)

    def show_choices(self, choices: list[CatalogueChoice]) -> None:
        """Fill the table: the recommendation on top, then catalogue order."""
        self.choices = sorted(choices, key=lambda c: not c.recommended)
        self.table.setRowCount(len(self.choices))
        for row, choice in enumerate(self.choices):
            model = choice.model
            status = "Recommended" if choice.recommended else ""
            if choice.downloaded:
                status = (status + ", downloaded").lstrip(", ")
            cells = [
                model.name,
                f"{model.parameters / 1e9:.1f}B",
                human_size(model.default_file.approx_size_bytes),
                FIT_TEXT[choice.fit],
                speed_text(choice.tokens_per_second),
                model.license,
                f"{model.context_length:,}",
                status,
            ]
            fill_row(self.table, row, cells, bold=choice.recommended)
        best = next((c.model for c in self.choices if c.recommended), None)
        speed = next((c.tokens_per_second for c in self.choices if c.recommended), 0.0)
        self.summary.setText(
            f"Recommended for this machine: <b>{best.name}</b> ({speed_text(speed)} here)"
            if best
            else "No catalogue model fits this machine comfortably."
        )
        if self.choices:
            self.table.selectRow(0)

    def selected_model(self) -> CatalogueModel | None:
        """The highlighted catalogue model."""
        row = selected_row(self.table)
        return self.choices[row].model if row is not None else None

    def _selection_changed(self) -> None:
        model = self.selected_model()
        self.quant.clear()
        self.download_button.setEnabled(model is not None)
        self.files_button.setEnabled(model is not None)
        if model is None:
            self.description.clear()
            return
        for file in model.files:
            self.quant.addItem(f"{file.quantization} ({human_size(file.approx_size_bytes)})")
            self.quant.setItemData(self.quant.count() - 1, file.quantization)
        self.quant.setCurrentIndex(self.quant.findData(model.default_quantization))
        self.description.setText(f"{model.description}  ({model.repo_id})")

    def _download(self) -> None:
        model = self.selected_model()
        if model is not None:
            self.download_requested.emit(model, str(self.quant.currentData()))

    def _files(self) -> None:
        model = self.selected_model()
        if model is not None:
            self.show_files.emit(model.repo_id)


class SearchTab(QWidget):
    """Search the hub for GGUF repositories."""

    search_requested = Signal(str, str)  # query, sort
    show_files = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.repos: list[RemoteRepo] = []
        self.query = QLineEdit()
        self.query.setPlaceholderText("Search GGUF models on Hugging Face (e.g. qwen, llama 3b)")
        self.query.setAccessibleName("Search query")
        self.sort = QComboBox()
        for label, key in SORT_CHOICES:
            self.sort.addItem(label, key)
        self.search_button = QPushButton("Search")
        self.table = make_table(["Repository", "Downloads", "Likes", "Updated", ""])
        self.table.setObjectName("searchTable")
        self.files_button = QPushButton("Show files...")
        bar = QHBoxLayout()
        bar.addWidget(self.query, 1)
        bar.addWidget(self.sort)
        bar.addWidget(self.search_button)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.files_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.query.returnPressed.connect(self._search)
        self.search_button.clicked.connect(self._search)
        self.files_button.clicked.connect(self._files)
        self.table.itemDoubleClicked.connect(lambda _item: self._files())

    def set_busy(self, busy: bool) -> None:
        """Disable searching while a search runs."""
        self.search_button.setEnabled(not busy)

    def show_results(self, repos: list[RemoteRepo]) -> None:
        """Fill the results table."""
        self.repos = repos
        self.table.setRowCount(len(repos))
        for row, repo in enumerate(repos):
            updated = repo.last_modified.date().isoformat() if repo.last_modified else ""
            cells = [repo.repo_id, f"{repo.downloads:,}", f"{repo.likes:,}", updated]
            fill_row(self.table, row, [*cells, "gated" if repo.gated else ""])

    def _search(self) -> None:
        text = self.query.text().strip()
        if text:
            self.search_requested.emit(text, str(self.sort.currentData()))

    def _files(self) -> None:
        row = selected_row(self.table)
        if row is not None:
            self.show_files.emit(self.repos[row].repo_id)


class FilesTab(QWidget):
    """The GGUF models of one repository: quantisation, size, fit; download one."""

    load_requested = Signal(str)  # repo id
    download_requested = Signal(object)  # RemoteModel

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models: list[RemoteModel] = []
        self.repo = QLineEdit()
        self.repo.setPlaceholderText("owner/repository")
        self.repo.setAccessibleName("Repository")
        self.load_button = QPushButton("List files")
        self.table = make_table(["File", "Quantisation", "Size", "Fit", "Parts", ""])
        self.table.setObjectName("filesTable")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.download_button = QPushButton("Download")
        bar = QHBoxLayout()
        bar.addWidget(self.repo, 1)
        bar.addWidget(self.load_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.note, 1)
        bottom.addWidget(self.download_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.repo.returnPressed.connect(self._load)
        self.load_button.clicked.connect(self._load)
        self.download_button.clicked.connect(self._download)
        self.table.itemDoubleClicked.connect(lambda _item: self._download())

    def request(self, repo_id: str) -> None:
        """Show ``repo_id`` in the field and ask for its files."""
        self.repo.setText(repo_id)
        self._load()

    def show_listing(self, listing: RepoListing, fits: list[Fit], downloaded: list[bool]) -> None:
        """Fill the table; ``fits`` and ``downloaded`` follow ``listing.models``."""
        self.models = list(listing.models)
        self.table.setRowCount(len(self.models))
        for row, model in enumerate(self.models):
            parts = str(len(model.parts)) + ("" if model.complete else " (incomplete)")
            cells = [
                model.filename,
                model.quantization or "?",
                human_size(model.size),
                FIT_TEXT[fits[row]],
                parts,
                "downloaded" if downloaded[row] else "",
            ]
            fill_row(self.table, row, cells)
        notes = [] if self.models else ["This repository has no GGUF files."]
        if listing.gated:
            notes.append("Gated: accept the terms on huggingface.co and log in to download.")
        self.note.setText(" ".join(notes))

    def _load(self) -> None:
        text = self.repo.text().strip()
        if text:
            self.load_requested.emit(text)

    def _download(self) -> None:
        row = selected_row(self.table)
        if row is not None:
            self.download_requested.emit(self.models[row])


__all__ = ["CatalogueTab", "FilesTab", "SearchTab"]
