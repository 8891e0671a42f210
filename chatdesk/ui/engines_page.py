"""Settings page for remote engines: list, add, edit, remove, and each one's models.

Talks only to ``RemoteEngineService``. The API key field is a password field; the key goes
to the OS keyring (or this session only, which the page then says); the page never shows
a stored key. Listing models runs on a worker thread; the answer comes back through the
bridge (``Background.when_done``) and is shown when it arrives: nothing polls.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.remote_engines import RegistryError, RemoteEngineService, RemoteModel
from chatdesk.ui.bridge import Background, EventBridge
from chatdesk.ui.flow_layout import FlowLayout
from chatdesk.ui.modal import run_modal

NAME_ROLE = 256  # Qt.ItemDataRole.UserRole


class EngineDialog(QDialog):
    """Name, base URL, API key (or the variable holding it) and CA bundle of one engine."""

    def __init__(
        self, parent: QWidget | None, name: str = "", url: str = "", env: str = "", ca: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remote engine")
        self.name = QLineEdit(name, placeholderText="gpu-server")
        self.name.setReadOnly(bool(name))
        self.url = QLineEdit(url, placeholderText="http://gpu-server:8000/v1")
        self.key = QLineEdit(placeholderText="kept in the system keyring; empty: unchanged")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.env = QLineEdit(env, placeholderText="or read the key from this variable")
        self.ca = QLineEdit(ca, placeholderText="PEM file of a private CA (optional)")
        form = QFormLayout(self)
        for label, field in (
            ("Name", self.name),
            ("Base URL", self.url),
            ("API key", self.key),
            ("Key variable", self.env),
            ("CA bundle", self.ca),
        ):
            field.setAccessibleName(label)
            form.addRow(label, field)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class EnginesPage(QWidget):
    """The list of remote engines with Add, Edit, Remove and Models."""

    changed = Signal()  # an engine was added, changed or removed

    def __init__(
        self,
        service: RemoteEngineService,
        parent: QWidget | None = None,
        background: Background | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.background = background or Background(EventBridge(self))
        self._asked = 0  # only the newest answer is shown
        self.list = QListWidget()
        self.list.setAccessibleName("Remote engines")
        self.status = QLabel(wordWrap=True)
        self.models = QLabel(wordWrap=True)
        self.buttons: dict[str, QPushButton] = {}
        row = FlowLayout(spacing=6)  # wraps in a narrow panel instead of widening it
        for label, slot in (
            ("Add...", self.add),
            ("Edit...", self.edit),
            ("Remove", self.remove),
            ("Models", self.show_models),
        ):
            button = QPushButton(label)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.buttons[label.rstrip(".")] = button
        layout = QVBoxLayout(self)
        intro = "Remote OpenAI-compatible servers (vLLM, llama-server, Ollama...)"
        layout.addWidget(QLabel(intro, wordWrap=True))
        layout.addWidget(self.list)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.models)
        self.refresh()

    def refresh(self) -> None:
        """Reload the list from the service (the selection kept)."""
        keep = self.selected()
        self.list.clear()
        for config in self.service.engines():
            self.list.addItem(f"{config.name} — {config.base_url} (API key: {config.key_source})")
            self.list.item(self.list.count() - 1).setData(NAME_ROLE, config.name)
            if config.name == keep:
                self.list.setCurrentRow(self.list.count() - 1)

    def selected(self) -> str | None:
        """The selected engine's name."""
        item = self.list.currentItem()
        return str(item.data(NAME_ROLE)) if item else None

    def _run(self, action: str, call: Callable[[], str | None]) -> None:
        try:
            note = call()
        except RegistryError as error:
            self.status.setText(f"Could not {action}: {error}")
            return
        self.status.setText(f"API key {note}" if note else f"Done: {action}.")
        self.refresh()
        self.changed.emit()

    def add(self) -> None:
        """Ask for a new engine and add it."""
        dialog = EngineDialog(self)
        if run_modal(dialog) != QDialog.DialogCode.Accepted:
            return
        self.add_from(dialog)

    def add_from(self, dialog: EngineDialog) -> None:
        """Add the engine a filled-in dialog describes."""
        self._run(
            "add the engine",
            lambda: self.service.add(
                dialog.name.text().strip(),
                dialog.url.text().strip(),
                dialog.key.text() or None,
                api_key_env=dialog.env.text().strip() or None,
                ca_bundle=dialog.ca.text().strip() or None,
            ),
        )

    def edit(self) -> None:
        """Edit the selected engine."""
        name = self.selected()
        if name is None:
            return
        config = next(c for c in self.service.engines() if c.name == name)
        dialog = EngineDialog(
            self, name, config.base_url, config.api_key_env or "", config.ca_bundle or ""
        )
        if run_modal(dialog) == QDialog.DialogCode.Accepted:
            self.edit_from(dialog)

    def edit_from(self, dialog: EngineDialog) -> None:
        """Apply a filled-in edit dialog."""
        self._run(
            "change the engine",
            lambda: self.service.edit(
                dialog.name.text(),
                dialog.url.text().strip() or None,
                dialog.key.text() or None,
                api_key_env=dialog.env.text().strip() or None,
                ca_bundle=dialog.ca.text().strip() or None,
            ),
        )

    def remove(self) -> None:
        """Remove the selected engine (and its stored key)."""
        name = self.selected()
        if name is not None:
            self._run(f"remove {name}", lambda: self.service.remove(name))

    def show_models(self) -> None:
        """Ask the selected engine for its models (answer shown when it arrives)."""
        name = self.selected()
        if name is None:
            return
        self.models.setText(f"Asking {name} for its models...")
        self._asked += 1
        asked = self._asked
        self.background.when_done(
            self.service.models_async(name),
            lambda models: self._show_models(asked, models, None),
            lambda error: self._show_models(asked, [], error),
        )

    def _show_models(
        self, asked: int, models: list[RemoteModel], error: BaseException | None
    ) -> None:
        if asked != self._asked:
            return  # the user asked again (another engine) since
        if error is not None:
            self.models.setText(f"Could not list models: {error}")
            return
        self.models.setText("Models: " + (", ".join(m.id for m in models) or "none"))
