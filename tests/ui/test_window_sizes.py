"""The window at 800x600, 1180x760 and 1920x1080, with each panel open, in both themes
(issue 27, item 5): every visible widget is walked, and the test fails on

- text cut off without an ellipsis and a tooltip: a one-line label, button, tab or combo
  box narrower than its text, or a word-wrapped label shorter than its lines;
- sibling widgets that overlap, and a widget cut off by the edge of the one it is in;
- a horizontal scroll bar in a panel (the settings and documents panels, the sidebar, the
  dialogs; the chat's code blocks scroll sideways by design and are not panels).

The panels are opened as a user opens them (``tests/support/window_panels.py``, which the
screenshot script's ``--set sizes`` uses too, so the pictures show what this test checks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QComboBox,
    QDockWidget,
    QLabel,
    QLineEdit,
    QMainWindow,
    QScrollBar,
    QTabBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from chatdesk.ui.chat_view import ChatView
from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine
from tests.support.window_panels import (
    PANELS,
    SIZES,
    THEMES,
    close_panel,
    open_panel,
    seed_chat,
    set_theme,
)

MakeWindow = Callable[..., MainWindow]
ELLIPSIS = ("…", "...")
SLACK = 2  # pixels of rounding a style may take
SIDEBAR_MIN = 200  # px: the conversations' titles stay readable beside an open panel


def visible_widgets(root: QWidget) -> Iterator[QWidget]:
    """``root`` and every descendant shown on screen (not separate windows)."""
    yield root
    for child in root.findChildren(QWidget):
        if child.isVisible() and not child.isWindow() and child.isVisibleTo(root):
            yield child


def name_of(widget: QWidget) -> str:
    text = widget.accessibleName() or widget.objectName()
    return f"{type(widget).__name__}({text!r})"


def elided_with_tooltip(shown: str, widget: QWidget) -> bool:
    """Shortened the honest way: an ellipsis on screen, the whole text in the tooltip."""
    return shown.rstrip().endswith(ELLIPSIS) and bool(widget.toolTip())


def clipped(widget: QWidget) -> str | None:
    """Why ``widget``'s text is cut off without an ellipsis and tooltip (None: it is not)."""
    if isinstance(widget, QLabel):
        return clipped_label(widget)
    if isinstance(widget, QAbstractButton) and widget.text():
        return clipped_button(widget)
    if isinstance(widget, QTabBar):
        return clipped_tabs(widget)
    if isinstance(widget, QLineEdit) and isinstance(widget.parentWidget(), QComboBox):
        wanted = widget.fontMetrics().horizontalAdvance(widget.text())
        if wanted > widget.width() and not elided_with_tooltip(widget.text(), widget.parent()):
            return f"combo box text {widget.text()!r} wider than {widget.width()} px"
    if isinstance(widget, QComboBox) and not widget.isEditable():
        wanted = widget.fontMetrics().horizontalAdvance(widget.currentText())
        if wanted > widget.width() and not widget.toolTip():
            return f"combo box text {widget.currentText()!r} wider than {widget.width()} px"
    return None


def clipped_label(label: QLabel) -> str | None:
    shown = QLabel.text(label)  # what is on screen (an eliding label's text() is the whole)
    if not shown or (label.pixmap() is not None and not label.pixmap().isNull()):
        return None
    room = label.contentsRect()
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        if needed > label.height() + SLACK:
            return f"wrapped text needs {needed} px of height, has {label.height()}"
        return None
    if label.textFormat().name == "RichText" or "<" in shown:
        return None  # rich text lays itself out; its width is not one line's advance
    widest = max(label.fontMetrics().horizontalAdvance(line) for line in shown.split("\n"))
    if widest > room.width() + SLACK and not elided_with_tooltip(shown, label):
        return f"text {shown!r} needs {widest} px, has {room.width()}"
    return None


def clipped_button(button: QAbstractButton) -> str | None:
    shown = button.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    wanted = button.sizeHint().width()
    if wanted > button.width() + SLACK and not elided_with_tooltip(shown, button):
        return f"button text {shown!r} needs {wanted} px, has {button.width()}"
    return None


def clipped_tabs(bar: QTabBar) -> str | None:
    for index in range(bar.count()):
        text = bar.tabText(index).replace("&", "")
        needed = bar.fontMetrics().horizontalAdvance(text)
        rect = bar.tabRect(index)
        room = (
            rect.height()
            if bar.shape().name.startswith(("RoundedWest", "RoundedEast"))
            else rect.width()
        )
        if needed > room and not bar.tabToolTip(index):
            return f"tab {text!r} needs {needed} px, has {room}"
    return None


def overlaps(parent: QWidget) -> list[str]:
    """Visible child widgets of ``parent`` whose rectangles intersect."""
    children = [
        child
        for child in parent.children()
        if isinstance(child, QWidget) and child.isVisible() and not child.isWindow()
    ]
    found = []
    for index, first in enumerate(children):
        for second in children[index + 1 :]:
            common: QRect = first.geometry().intersected(second.geometry())
            if common.width() > SLACK and common.height() > SLACK:
                found.append(f"{name_of(first)} overlaps {name_of(second)} in {name_of(parent)}")
    return found


def outside(parent: QWidget) -> list[str]:
    """Visible children that stick out of ``parent`` sideways (cut off by its edge); the
    content of a scroll area's viewport moves, so there only a sideways cut counts too."""
    found = []
    for child in parent.children():
        if not isinstance(child, QWidget) or not child.isVisible() or child.isWindow():
            continue
        rect = child.geometry()
        cut = rect.right() > parent.width() + SLACK or rect.left() < -SLACK
        if cut and not in_chat(child):
            found.append(f"{name_of(child)} cut off by the edge of {name_of(parent)}")
    return found


def in_chat(widget: QWidget) -> bool:
    """Inside the conversation column (its code blocks may scroll sideways by design)."""
    parent: QWidget | None = widget
    while parent is not None:
        if isinstance(parent, ChatView):
            return True
        parent = parent.parentWidget()
    return False


def sideways_scroll(widget: QWidget) -> str | None:
    """A panel's horizontal scroll bar on screen."""
    if not isinstance(widget, QAbstractScrollArea) or in_chat(widget):
        return None
    bar: QScrollBar = widget.horizontalScrollBar()
    if bar.isVisible() and bar.maximum() > 0:
        return f"horizontal scroll bar in {name_of(widget)}"
    return None


def problems(root: QWidget) -> list[str]:
    """Every clipped text, overlap and sideways scroll bar under ``root``."""
    found: list[str] = []
    for widget in visible_widgets(root):
        reason = clipped(widget)
        if reason:
            found.append(f"{name_of(widget)}: {reason}")
        if not isinstance(widget, QMainWindow | QDockWidget):  # Qt lays those out itself
            found.extend(overlaps(widget))
        found.extend(outside(widget))
        sideways = sideways_scroll(widget)
        if sideways:
            found.append(sideways)
    return found


def settled(qtbot: QtBot, window: MainWindow, size: tuple[int, int]) -> None:
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    qtbot.wait(60)  # layouts that follow a resize (eliding, the panels' widths)


@pytest.mark.parametrize("panel", ["none", *PANELS])
def test_every_size_every_panel_both_themes(
    qtbot: QtBot, make_window: MakeWindow, panel: str
) -> None:
    window = make_window(ScriptedEngine)
    seed_chat(window)
    found: list[str] = []
    for theme in THEMES:
        set_theme(window, theme)
        for size in SIZES:
            settled(qtbot, window, size)
            shown = window if panel == "none" else open_panel(window, panel)
            qtbot.wait(60)
            where = f"{size[0]}x{size[1]} {theme} {panel}"
            if (window.width(), window.height()) != size:  # a panel must not widen the window
                found.append(f"{where}: window became {window.size()}")
            if window.sidebar.width() < SIDEBAR_MIN:  # nor squeeze the conversations
                found.append(f"{where}: the sidebar squeezed to {window.sidebar.width()} px")
            found += [f"{where}: {p}" for p in problems(shown)]
            if panel != "none":
                close_panel(window, panel, shown)
    assert found == [], "\n".join(found)


def test_the_checks_catch_what_they_look_for(qtbot: QtBot) -> None:
    """A cut-off label, two overlapping buttons and a sideways scroll bar are reported."""
    from PySide6.QtWidgets import QPlainTextEdit, QPushButton

    root = QWidget()
    qtbot.addWidget(root)
    root.resize(300, 200)
    label = QLabel("A label far too long for the room it was given on screen", root)
    label.setGeometry(0, 0, 60, 20)
    QPushButton("One", root).setGeometry(0, 40, 80, 30)
    QPushButton("Two", root).setGeometry(40, 50, 80, 30)
    text = QPlainTextEdit("x" * 400, root)
    text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    text.setGeometry(0, 100, 200, 90)
    root.show()
    qtbot.waitExposed(root)
    found = "\n".join(problems(root))
    assert "A label far too long" in found
    assert "overlaps" in found
    assert "horizontal scroll bar" in found
    sticking_out = QLabel("Sticks out", root)
    sticking_out.setGeometry(250, 0, 100, 20)
    sticking_out.show()
    assert "cut off by the edge" in "\n".join(problems(root))
    label.setText("Short")
    label.setGeometry(0, 0, 200, 20)
    assert not any("Short" in line for line in problems(root))


def test_the_welcome_page_and_the_empty_chat_at_every_size(
    qtbot: QtBot, make_window: MakeWindow, fake_gguf: Path
) -> None:
    """No model yet (the welcome page), then a new chat with a model (its name, examples)."""
    window = make_window(ScriptedEngine)
    found: list[str] = []
    for page in ("welcome", "empty chat"):
        if page == "empty chat":
            window.load_model(str(fake_gguf))
            qtbot.waitUntil(lambda: window.pages.currentWidget() is window.empty_chat)
        for theme in THEMES:
            set_theme(window, theme)
            for size in SIZES:
                settled(qtbot, window, size)
                found += [f"{size[0]}x{size[1]} {theme} {page}: {p}" for p in problems(window)]
    assert found == [], "\n".join(found)
