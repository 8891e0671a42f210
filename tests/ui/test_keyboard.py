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
    assert chat[0] == "Conversation"  # the chat, then its messages' actions, in order
    assert "Copy message" in chat
    assert chat.index("Edit and resend") < chat.index("Regenerate reply")
    settings = names.index(SETTINGS_START[0])
    assert settings > composer  # the side panel after the composer
    sections = [n for n in names[settings:] if n.endswith(" section")]
    assert sections == [f"{t} section" for t in window.settings_panel.section_titles()]


def test_the_focus_is_always_visible(qtbot: QtBot, make_window: MakeWindow) -> None:
    """Each control reached by Tab looks different from the same control without focus."""
    window = make_window(ScriptedEngine)
    window.resize(1180, 760)
    seed_chat(window)
    window.dock.show()
    qtbot.wait(100)
    focused = {}
    start = window.top.sidebar_button
    start.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(start, Qt.Key.Key_Tab)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab)  # by keyboard, as people do
    for _ in range(200):
        stop = QApplication.focusWidget()
        assert stop is not None
        control = owner(stop)
        if control in focused:
            break
        focused[control] = control.grab().toImage()
        qtbot.keyClick(stop, Qt.Key.Key_Tab)
    first = owner(QApplication.focusWidget())  # round again: every other one is unfocused
    unfocused = {c: c.grab().toImage() for c in focused if c is not first}
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)  # and now the first one
    unfocused[first] = first.grab().toImage()
    unseen = [c.accessibleName() for c, image in focused.items() if unfocused[c] == image]
    assert len(focused) > 30
    assert unseen == []
