"""The window's top bar: sidebar toggle, model picker, model status, context meter, and
the icon buttons that open the panels (prompt, documents, tools, models, settings).

It replaces the row of text buttons the window had. The bar is one widget inside a fixed
``QToolBar`` (so it spans the window above the side panels) rather than tool-bar actions:
its buttons are ordinary focusable widgets, in the Tab order, and a narrow window shortens
the model's status line instead of hiding buttons behind a "»" menu. Every button comes from
``icon_buttons.icon_button`` (icon, tooltip with the shortcut, accessible name). The
checkable buttons follow what they toggle (the sidebar, the documents and settings panels),
whichever way it was shown or hidden.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QProgressBar,
    QSizePolicy,
    QToolBar,
    QToolButton,
    QWidget,
)

from chatdesk.services.types import Message
from chatdesk.ui.icon_buttons import icon_button
from chatdesk.ui.message_widget import ContextMeter, ElidedLabel
from chatdesk.ui.model_picker import ModelPicker
from chatdesk.ui.theme import set_look

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow

MODEL_STATUS_MIN_WIDTH = 80  # the loaded model's line (shortened, whole in its tooltip)
METER_WIDTH = 110


class TopBar(QWidget):
    """The bar's widgets; the window connects them (``install_top_bar``)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("topBar")
        set_look(self, "bar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        self.sidebar_button = icon_button(self, "sidebar", "Sidebar", "Ctrl+B", checkable=True)
        self.picker = ModelPicker(self)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setAccessibleName("Loading model")
        self.busy.hide()
        self.model_status = ElidedLabel("No model loaded", self, Qt.TextElideMode.ElideRight)
        self.model_status.setMinimumWidth(MODEL_STATUS_MIN_WIDTH)  # takes the room there is,
        self.model_status.setSizePolicy(  # shortened rather than pushing the buttons out
            QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred
        )
        self.model_status.setObjectName("modelStatus")
        self.model_status.setAccessibleName("Model status")
        self.context_meter = ContextMeter(self)
        self.context_meter.setObjectName("topContextMeter")
        self.context_meter.setAccessibleName("Context used")
        self.context_meter.setFixedWidth(METER_WIDTH)
        self.context_meter.hide()
        self.prompt_button = icon_button(self, "prompt", "Show prompt", "Ctrl+Shift+P")
        self.documents_button = icon_button(self, "documents", "Documents", checkable=True)
        self.tools_button = icon_button(self, "tools", "Tools and audit log", "Ctrl+Shift+T")
        self.models_button = icon_button(self, "models", "Models", "Ctrl+M")
        self.settings_button = icon_button(self, "settings", "Settings", "Ctrl+,", checkable=True)
        row.addWidget(self.sidebar_button)
        row.addWidget(self.picker)
        row.addWidget(self.busy)
        row.addWidget(self.model_status, 1)
        row.addWidget(self.context_meter)
        for button in self.panel_buttons():
            row.addWidget(button)

    def panel_buttons(self) -> list[QToolButton]:
        """The buttons on the right, left to right."""
        return [
            self.prompt_button,
            self.documents_button,
            self.tools_button,
            self.models_button,
            self.settings_button,
        ]

    def show_context(self, used: int | None, n_ctx: int | None) -> None:
        """Tokens of the context the open conversation's last reply used (hidden: unknown)."""
        if not used or not n_ctx:
            self.context_meter.hide()
            return
        self.context_meter.setRange(0, n_ctx)
        self.context_meter.setValue(min(used, n_ctx))
        self.context_meter.setFormat(f"{used} / {n_ctx}")
        self.context_meter.setToolTip(f"Context: {used} of {n_ctx} tokens used by the last reply")
        self.context_meter.show()


def follow(button: QToolButton, dock: QDockWidget) -> None:
    """A checkable button that shows and hides ``dock`` and follows it."""
    button.setChecked(dock.isVisible())
    button.toggled.connect(dock.setVisible)
    dock.visibilityChanged.connect(lambda _visible: button.setChecked(not dock.isHidden()))


def install_top_bar(window: MainWindow) -> TopBar:
    """Put the bar at the top of ``window`` (it keeps its ``toolbar``, ``picker``,
    ``busy`` and ``model_status`` names) and connect the buttons that need no dock."""
    bar = QToolBar("Top bar", window)
    bar.setObjectName("modelToolbar")
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.toggleViewAction().setVisible(False)  # not something to hide by accident
    top = TopBar(window)
    bar.addWidget(top)
    window.addToolBar(bar)
    window.toolbar = bar
    window.picker = top.picker
    window.busy = top.busy
    window.model_status = top.model_status
    top.prompt_button.clicked.connect(window.show_prompt)
    top.tools_button.clicked.connect(window.tools.open_dialog)
    top.models_button.clicked.connect(window.open_models_dialog)
    top.sidebar_button.setChecked(True)
    top.sidebar_button.toggled.connect(window.set_sidebar_visible)
    return top


def context_of(messages: list[Message], loaded: int | None = None) -> tuple[int | None, int | None]:
    """(tokens used, context length) of the last reply that recorded them; the context
    length is the loaded model's where a model is loaded (``loaded``: 0 when its engine
    does not say, then unknown)."""
    for message in reversed(messages):
        if message.role == "assistant" and message.n_ctx and message.prompt_tokens is not None:
            used = message.prompt_tokens + (message.completion_tokens or 0)
            return used, message.n_ctx if loaded is None else loaded
    return None, None
