"""The main window's menus; every entry is also a window-wide keyboard shortcut, and the
entries that are also buttons show the same icon (``MENU_ICONS``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from chatdesk.ui.theme import set_icon

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow

Keys = str | QKeySequence.StandardKey | None
MENU_ICONS = {  # menu entry -> icons.ACTIONS name
    "New chat": "new-chat",
    "Open GGUF file...": "open-folder",
    "Export as Markdown...": "export",
    "Copy last reply": "copy",
    "Find conversations": "search",
    "Rename conversation": "edit",
    "Stop reply": "stop",
    "Conversations": "sidebar",
    "Settings": "settings",
    "Documents": "documents",
    "Show prompt": "prompt",
    "Models...": "models",
    "Tools...": "tools",
    "Reload model": "regenerate",
}


def add_action(
    window: MainWindow, menu: QMenu, text: str, slot: Callable[[], object], keys: Keys = None
) -> QAction:
    """A menu entry whose shortcut works anywhere in the window."""
    action = QAction(text, window)
    if text in MENU_ICONS:
        set_icon(action, MENU_ICONS[text])
    if keys is not None:
        action.setShortcut(QKeySequence(keys))
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    window.addAction(action)
    return action


def build_menus(window: MainWindow) -> None:
    """File, Edit, View and Models menus."""
    w, files = window, window.files
    menu = w.menuBar().addMenu("&File")
    add_action(w, menu, "New chat", w.new_chat, "Ctrl+N")
    add_action(w, menu, "Open GGUF file...", files.open_gguf_file, "Ctrl+O")
    menu.addSeparator()
    add_action(w, menu, "Export as Markdown...", files.export_markdown, "Ctrl+E")
    add_action(w, menu, "Export as JSON...", files.export_json)
    add_action(w, menu, "Export all as Markdown...", lambda: files.export_all("md"))
    add_action(w, menu, "Export all as JSON...", lambda: files.export_all("json"))
    add_action(w, menu, "Import JSON...", files.import_json)
    menu.addSeparator()
    add_action(w, menu, "Quit", w.close, "Ctrl+Q")
    menu = w.menuBar().addMenu("&Edit")
    add_action(w, menu, "Copy last reply", w.copy_last_reply, "Ctrl+Shift+C")
    add_action(w, menu, "Find conversations", w.focus_search, "Ctrl+F")
    add_action(
        w, menu, "Rename conversation", lambda: w.sidebar.start_rename(w.conversation_id), "F2"
    )
    w.stop_action = add_action(w, menu, "Stop reply", w.stop, "Esc")
    w.stop_action.setEnabled(False)
    menu = w.menuBar().addMenu("&View")
    add_action(
        w, menu, "Conversations", lambda: w.set_sidebar_visible(w.sidebar.isHidden()), "Ctrl+B"
    )
    add_action(w, menu, "Settings", w.toggle_settings, "Ctrl+,")
    add_action(
        w, menu, "Documents", lambda: w.documents_dock.setVisible(w.documents_dock.isHidden())
    )
    add_action(w, menu, "Show prompt", w.show_prompt, "Ctrl+Shift+P")
    w.tokens.add_menu_entries(menu)
    add_action(w, menu, "Larger text", lambda: w.step_font(1), QKeySequence.StandardKey.ZoomIn)
    add_action(w, menu, "Smaller text", lambda: w.step_font(-1), QKeySequence.StandardKey.ZoomOut)
    menu = w.menuBar().addMenu("&Models")
    add_action(w, menu, "Models...", w.open_models_dialog, "Ctrl+M")
    add_action(w, menu, "Tools...", w.tools.open_dialog, "Ctrl+Shift+T")
    add_action(w, menu, "Reload model", w.reload_model, "Ctrl+R")
    add_action(w, menu, "Unload model", w.unload_model)
