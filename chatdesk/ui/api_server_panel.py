"""The API-server switch: serve the window's model over an OpenAI-compatible API.

Shows whether the server is on, its URL, and the requests as they run (refreshed twice a
second from ``ApiServerService.requests()``). Binding to anything but loopback needs an
API key, which the panel asks for and the service enforces.

The panel fits a narrow settings column: the checkboxes' texts are short, with what they
do in a wrapping note, and the requests table scrolls sideways inside its own width.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.api_server import DEFAULT_HOST, DEFAULT_PORT, ApiServerService, BindError
from chatdesk.services.settings import SettingsService
from chatdesk.ui.settings_panel import narrow_form

REFRESH_MS = 500
ABOUT = "Serve the loaded model: other programs can then use it through an OpenAI-compatible API."
COLUMNS = ("Request", "Client", "State", "Waited", "Pieces")


class ApiServerPanel(QWidget):
    """A switch, the address, the URL while on, and the running requests."""

    def __init__(
        self, service: ApiServerService, settings: SettingsService, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.settings = settings
        self.switch = QCheckBox("Serve the model")
        self.switch.setAccessibleName("API server")
        self.switch.setToolTip(ABOUT)
        about = QLabel(ABOUT, wordWrap=True)
        self.host = QLineEdit(DEFAULT_HOST)
        self.host.setMinimumWidth(1)
        self.port = QSpinBox(minimum=0, maximum=65535, value=DEFAULT_PORT)
        self.key = QLineEdit(placeholderText="required unless the address is 127.0.0.1")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.save = QCheckBox("Keep requests")
        self.save.setToolTip("Keep each API request and its reply as a conversation")
        self.state = QLabel("Off", wordWrap=True)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setAccessibleName("API requests")
        self.table.setMinimumWidth(1)  # scrolls sideways rather than widening the panel
        form = narrow_form()
        form.addRow("Address", self.host)
        form.addRow("Port", self.port)
        form.addRow("API key", self.key)
        form.addRow(self.save)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.switch)
        layout.addWidget(about)
        layout.addLayout(form)
        layout.addWidget(self.state)
        layout.addWidget(self.table)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.switch.toggled.connect(self._toggled)
        self._restore()

    def _restore(self) -> None:
        """The switch and address as the user left them. A saved "on" was started with the
        app (``AppServices.restore_api_server``); checking the switch then only shows it."""
        config = self.settings.api_server_config()
        self.host.setText(config["host"] or DEFAULT_HOST)
        self.port.setValue(config["port"] if config["port"] is not None else DEFAULT_PORT)
        self.save.setChecked(config["save"])
        if config["enabled"]:
            self.switch.setChecked(True)

    def _remember(self) -> None:
        self.settings.set_api_server_config(
            self.switch.isChecked(), self.host.text().strip(), self.port.value(),
            self.save.isChecked(),
        )  # fmt: skip

    def _toggled(self, on: bool) -> None:
        if on:
            self._start()
        else:
            self.service.stop()
            self._timer.stop()
            self.state.setText("Off")
            self.table.setRowCount(0)
        for field in (self.host, self.port, self.key, self.save):
            field.setEnabled(not self.service.running)
        self._remember()

    def _start(self) -> None:
        try:
            access = self.service.start(
                self.host.text().strip(),
                self.port.value(),
                self.key.text() or None,
                self.save.isChecked(),
            )
        except (BindError, OSError) as error:
            self.state.setText(f"Not started: {error}")
            self.switch.blockSignals(True)
            self.switch.setChecked(False)
            self.switch.blockSignals(False)
            return
        self.state.setText(f"On at {self.service.url} — {access}")
        self._timer.start()

    def refresh(self) -> None:
        """Show the queued and running requests."""
        requests = self.service.requests()
        self.table.setRowCount(len(requests))
        for row, info in enumerate(requests):
            values = (
                f"#{info.id} {info.label}",
                info.client,
                info.state,
                f"{info.waited:.1f} s",
                str(info.chunks),
            )
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
