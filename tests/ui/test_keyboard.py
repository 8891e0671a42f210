"""The window by keyboard alone (issue 27, item 6): Tab walks every control in reading
order (top bar, conversations, chat, composer, settings panel), each stop has an accessible
name, and the focus is always visible (the control looks different with it)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine
from tests.support.window_panels import seed_chat

MakeWindow = Callable[..., MainWindow]
TOP_BAR = [
    "Sidebar",
    "Model",
    "Show prompt",
    "Documents",
    "Tools and audit log",
    "Models",
    "Settings",
]
SIDEBAR = ["New chat", "Search conversations", "Conversations"]
COMPOSER = ["Message", "Offer tools to the model", "Send message"]
SETTINGS_START = ["Model section"]


def walk(qtbot: QtBot, start: QWidget, limit: int = 200) -> list[QWidget]:
    """The focus stops Tab visits from ``start`` until it comes back round."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(start.hasFocus)
    stops = [start]
    for _ in range(limit):
        current = QApplication.focusWidget()
        assert current is not None
        qtbot.keyClick(current, Qt.Key.Key_Tab)
        following = QApplication.focusWidget()
        assert following is not None
        if following is start or following in stops:
            break
        stops.append(following)
    return stops


def owner(widget: QWidget) -> QWidget:
    """The control a focus stop belongs to (the combo box of its line edit)."""
    parent = widget.parentWidget()
    return parent if parent is not None and parent.focusProxy() is widget else widget


def test_tab_walks_the_window_in_reading_order_with_names(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    window.resize(1180, 760)
    seed_chat(window)
    window.dock.show()
    qtbot.wait(100)
    stops = walk(qtbot, window.top.sidebar_button)
    names = [owner(w).accessibleName() for w in stops]
    assert all(names), [type(w).__name__ for w, n in zip(stops, names, strict=True) if not n]
    assert names[: len(TOP_BAR)] == TOP_BAR
    assert names[len(TOP_BAR) : len(TOP_BAR) + len(SIDEBAR)] == SIDEBAR
    composer = names.index(COMPOSER[0])
    assert names[composer : composer + len(COMPOSER)] == COMPOSER
    chat = names[len(TOP_BAR) + len(SIDEBAR) : composer]
    assert "Conversation" in chat  # the messages, between the list and the composer
    settings = names.index(SETTINGS_START[0])
    assert settings > composer  # the side panel after the composer
    sections = [n for n in names[settings:] if n.endswith(" section")]
    assert sections == [f"{t} section" for t in window.settings_panel.section_titles()]


def test_the_focus_is_always_visible(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    window.resize(1180, 760)
    seed_chat(window)
    window.dock.show()
    qtbot.wait(100)
    stops = {owner(w): w for w in walk(qtbot, window.top.sidebar_button)}
    unseen = []
    for control, stop in stops.items():
        stop.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(stop.hasFocus)
        focused = control.grab().toImage()
        window.setFocus(Qt.FocusReason.OtherFocusReason)
        stop.clearFocus()
        qtbot.waitUntil(lambda stop=stop: not stop.hasFocus())
        if control.grab().toImage() == focused:
            unseen.append(control.accessibleName())
    assert unseen == [], f"{unseen} of {[c.accessibleName() for c in stops]}"
