"""The model picker in the top bar: known model files plus "Open GGUF file...".

Each model is listed with its size, quantisation and whether it fits in this machine's
memory ("SmolLM2 · 98 MB · Q4_1 · fits"). The picker is searchable: typing in it lists the
models whose entry contains the typed words (a completer over the same list); leaving the
box without choosing shows the chosen model again.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from chatdesk.engine.types import ModelInfo
from chatdesk.services.model_choices import ModelChoice, local_choice
from chatdesk.services.tool_plan import describe_tool_format
from chatdesk.ui.models_tabs import human_size

OPEN_FILE = "__open_file__"
ELIDE_MARGIN = 8  # px the line edit keeps free of text
PLACEHOLDER = "__none__"


class ModelPicker(QComboBox):
    """Choosing an entry asks for that model to be loaded."""

    model_chosen = Signal(str)
    open_file = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelPicker")
        self.setAccessibleName("Model")
        self.setToolTip("Model to chat with")
        self.setMinimumContentsLength(28)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setEditable(True)  # searchable: type part of a name
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        line = self.lineEdit()
        assert line is not None
        line.setPlaceholderText("Search models")
        line.setAccessibleName("Search models")
        line.editingFinished.connect(self._show_chosen)
        self.currentIndexChanged.connect(lambda _index: self._show_chosen())
        self._updating = False
        self.activated.connect(self._on_activated)

    def set_choices(self, choices: list[ModelChoice], selected: str | None) -> None:
        """Fill the list; ``selected`` is shown without loading anything."""
        self._updating = True
        self.clear()
        unlisted = selected is not None and all(c.path != selected for c in choices)
        if unlisted and selected and Path(selected).is_file():  # loaded by path: name it
            choices = [local_choice(selected, Path(selected).name), *choices]
        if selected is None or all(c.path != selected for c in choices):
            self.addItem("Choose a model...", PLACEHOLDER)
        group = ""
        for choice in choices:
            if choice.group != group:
                group = choice.group
                self.add_header(group)
            label = choice.label if choice.exists else f"{choice.label} (missing)"
            details = describe_choice(choice)
            self.addItem(f"{label} · {details}" if details else label, choice.path)
            self.setItemData(self.count() - 1, choice.path, role=3)  # tool tip: the full path
        self.insertSeparator(self.count())
        self.addItem("Open GGUF file...", OPEN_FILE)
        index = self.findData(selected) if selected else 0
        self.setCurrentIndex(max(index, 0))
        self._show_chosen()
        self._updating = False

    def add_header(self, title: str) -> None:
        """A group title (a remote engine's name) that cannot be chosen."""
        self.insertSeparator(self.count())
        self.addItem(title, PLACEHOLDER)
        item = cast(QStandardItemModel, self.model()).item(self.count() - 1)
        item.setEnabled(False)

    def selected_path(self) -> str | None:
        """The model file shown, if any."""
        data = self.currentData()
        return None if data in (OPEN_FILE, PLACEHOLDER, None) else str(data)

    def _show_chosen(self) -> None:
        """Outside typing, the box shows the chosen entry, shortened with "…" to its width
        (whole in the tooltip); typed text that chose nothing is replaced by it."""
        line = self.lineEdit()
        if line is None or line.hasFocus():
            return
        entry = self.itemText(self.currentIndex())
        shown = line.fontMetrics().elidedText(
            entry, Qt.TextElideMode.ElideRight, line.width() - ELIDE_MARGIN
        )
        line.setText(shown)
        line.setCursorPosition(0)
        self.setToolTip(entry if shown != entry else "Model to chat with")

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Shorten the shown entry to the new width."""
        super().resizeEvent(event)
        self._show_chosen()

    def _on_activated(self, index: int) -> None:
        if self._updating:
            return
        data = self.itemData(index)
        if data == OPEN_FILE:
            self.open_file.emit()
        elif data not in (PLACEHOLDER, None):
            self.model_chosen.emit(str(data))


def describe_choice(choice: ModelChoice) -> str:
    """ "98.1 MB · Q4_1 · fits": what the picker shows after a model's name."""
    size = human_size(choice.size) if choice.size else ""
    return " · ".join(part for part in (size, choice.quantization, choice.fit) if part)


def describe_model(info: ModelInfo | None) -> str:
    """One line about the loaded model for the tool bar."""
    if info is None:
        return "Model loaded"
    context = f"context {info.n_ctx}" if info.n_ctx else "context unknown"  # 0: not reported
    parts = [info.architecture, info.quantization, context, info.backend]
    if info.gpu_layers_offloaded:
        parts.append(f"{info.gpu_layers_offloaded} layers on the GPU")
    parts.append(f"loaded in {info.load_seconds:.1f} s")
    parts.append(describe_tool_format(info.tool_format))  # which way it uses tools
    return " · ".join(p for p in parts if p)
