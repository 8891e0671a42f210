"""The window's side panels and its keyboard order.

- Settings: a side panel (dock) of sections (``SettingsPanel``); the Engines and API server
  sections come from ``remote_tabs``, and two small sections point to the features that
  have their own window: Tools (the Tools dialog: switches, MCP servers, audit log) and
  Documents (the documents panel).
- Documents: the collections panel, a second side panel.

Both panels are shown and hidden by the top bar's buttons (which follow them), the View
menu and their own close buttons. ``set_tab_order`` puts the window's controls in the order
people read it: top bar, conversations, chat, composer, then the open side panels.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QVBoxLayout, QWidget

from chatdesk.ui.documents_dock import DocumentsDock
from chatdesk.ui.remote_tabs import add_remote_tabs
from chatdesk.ui.settings_panel import SettingsPanel, wrapping_button
from chatdesk.ui.settings_sections import GivesWay, takes_tab
from chatdesk.ui.window_topbar import follow

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow

TOOLS_NOTE = (
    "The composer's Tools switch offers the enabled tools to the model; each call asks "
    "first unless its policy allows it."
)
DOCUMENTS_NOTE = "Collections checked in the documents panel give this chat their passages."


def install_panels(window: MainWindow) -> None:
    """The settings and documents panels (hidden), their sections and their toggles."""
    window.settings_panel = SettingsPanel(window.services.settings, window)
    add_remote_tabs(window.settings_panel, window.services, window.rescan_remote)
    window.dock = side_panel(window, "Settings", "settingsDock", window.settings_panel)
    follow(window.top.settings_button, window.dock)
    window.documents_dock = DocumentsDock(window, window, window.services)
    window.documents_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, window.documents_dock)
    window.documents_dock.hide()
    GivesWay(window, window.documents_dock.panel)  # like the settings: at most 30% wide
    follow(window.top.documents_button, window.documents_dock)
    panel = window.settings_panel
    tools = pointer(TOOLS_NOTE, "Tools, MCP servers and audit log...", window.tools.open_dialog)
    panel.add_section("Tools", tools)
    panel.add_section(
        "Documents", pointer(DOCUMENTS_NOTE, "Show the documents panel", window.documents_dock.show)
    )


def side_panel(window: MainWindow, title: str, name: str, content: QWidget) -> QDockWidget:
    """A hidden dock on the right holding ``content``, closable but fixed in place."""
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable)
    dock.setWidget(content)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.hide()
    return dock


def pointer(note: str, button_text: str, slot: Callable[[], object]) -> QWidget:
    """A section that explains a feature in one line and opens it with one button."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    label = QLabel(note, box)
    label.setWordWrap(True)
    label.setMinimumWidth(1)
    button = wrapping_button(button_text, box)
    button.clicked.connect(slot)
    column.addWidget(label)
    column.addWidget(button)
    return box


class MessagesInOrder(QObject):
    """Keeps the shown messages' controls between the chat and the composer in the Tab order.

    Qt puts widgets created later (the messages of a conversation opened later) at the end
    of the order, and putting them in place costs a few milliseconds per control; so it is
    done when the keyboard reaches the chat (its focus-in), and only when the messages shown
    changed, never while a conversation opens."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.ordered: tuple[int, ...] = ()
        window.chat_view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The chat got the keyboard focus: order its messages' controls if they changed."""
        if event.type() == QEvent.Type.FocusIn:
            shown = tuple(id(widget) for widget in self.window.chat_view.widgets)
            if shown != self.ordered:
                self.ordered = shown
                set_tab_order(self.window)
        return super().eventFilter(watched, event)


def set_tab_order(window: MainWindow) -> None:
    """Tab goes: top bar, sidebar, the chat and its messages' controls, composer, settings
    panel (hidden widgets are skipped). Called once every section is in the panel (and by
    ``MessagesInOrder``)."""
    top, sidebar, composer = window.top, window.sidebar, window.composer
    content = window.chat_view.widget()
    messages = content.findChildren(QWidget) if content is not None else []
    chain: list[QWidget] = [
        top.sidebar_button,
        top.picker,
        *top.panel_buttons(),
        sidebar.new_button,
        sidebar.search,
        sidebar.list,
        window.chat_view,
        *[widget for widget in messages if content and takes_tab(widget, content)],
        composer.text,
        composer.tools_button,
        composer.send_button,
        composer.stop_button,
        *window.settings_panel.focus_chain(),
    ]
    for first, second in itertools.pairwise(chain):
        QWidget.setTabOrder(first, second)
