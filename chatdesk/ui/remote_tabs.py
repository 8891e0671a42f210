"""The settings panel's Engines and API server sections (folded at first).

The Engines section manages remote engines (``EnginesPage``); a change re-asks the engines for
their models so the picker's remote groups follow. The API server section (``ApiServerPanel``)
is built when first unfolded, so FastAPI and uvicorn are imported only by those who use it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from chatdesk.services.app_services import AppServices
from chatdesk.services.remote_engines import parse_remote_model_key
from chatdesk.ui.engines_page import EnginesPage
from chatdesk.ui.settings_sections import SectionColumn


def model_label(path: str) -> str:
    """How a model is named to the user: a file's stem, or 'MODEL_ID on ENGINE'."""
    remote = parse_remote_model_key(path)
    return f"{remote[1]} on {remote[0]}" if remote else Path(path).stem


class LazyTab(QWidget):
    """A section whose content is built the first time it is shown."""

    def __init__(self, build: Callable[[], QWidget]) -> None:
        super().__init__()
        self._build = build
        self.content: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def showEvent(self, event: QShowEvent) -> None:  # Qt's name
        """Build the content on first show."""
        if self.content is None:
            self.content = self._build()
            self._layout.addWidget(self.content)
        super().showEvent(event)


def add_remote_tabs(
    panel: SectionColumn, services: AppServices, engines_changed: Callable[[], None]
) -> None:
    """Add the Engines and API server sections to the settings panel."""
    engines = EnginesPage(services.remote_engines)
    engines.changed.connect(engines_changed)
    panel.add_section("Engines", engines, expanded=False)

    def api_panel() -> QWidget:
        from chatdesk.ui.api_server_panel import ApiServerPanel

        return ApiServerPanel(services.api_server, services.settings)

    panel.add_section("API server", LazyTab(api_panel), expanded=False)
