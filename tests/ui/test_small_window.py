"""The window at 800x600 with Settings open (issue 24, item 10): section titles whole, no
horizontal scroll bar in the settings pages or the sidebar, every tool-bar button in view."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QScrollArea, QTabWidget, QToolButton
from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine


def test_800x600_with_settings_open(qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    window = make_window(ScriptedEngine)
    window.resize(800, 600)
    if not window.dock.isVisible():
        window.toggle_settings()
    qtbot.wait(200)
    panel = window.settings_panel
    assert panel.tabPosition() == QTabWidget.TabPosition.West  # titles run down the side
    bar = panel.tabBar()
    for index in range(bar.count()):
        needed = bar.fontMetrics().horizontalAdvance(bar.tabText(index))
        assert bar.tabRect(index).height() >= needed, bar.tabText(index)
    for area in panel.findChildren(QScrollArea):
        assert not area.horizontalScrollBar().isVisible()
    assert not window.sidebar.list.horizontalScrollBar().isVisible()
    extension = window.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert extension is None or not extension.isVisible()  # no buttons hidden behind "»"
