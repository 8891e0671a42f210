"""The window at 800x600 with Settings open (issue 24, item 10; issue 27, item 4): the
settings are sections in one column with whole titles, no horizontal scroll bar in the
panel or the sidebar, every top-bar button in view."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QScrollArea, QToolButton
from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.settings_sections import SECTION_ORDER
from tests.support.scripted_engine import ScriptedEngine


def test_800x600_with_settings_open(qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    window = make_window(ScriptedEngine)
    window.resize(800, 600)
    if not window.dock.isVisible():
        window.toggle_settings()
    qtbot.wait(200)
    panel = window.settings_panel
    assert panel.section_titles() == list(SECTION_ORDER)
    for section in panel.sections():
        header = section.header
        needed = header.fontMetrics().horizontalAdvance(header.text())
        assert header.width() >= needed + header.iconSize().width(), header.text()
    for area in [panel, *panel.findChildren(QScrollArea)]:
        assert not area.horizontalScrollBar().isVisible()
    assert not window.sidebar.list.horizontalScrollBar().isVisible()
    extension = window.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert extension is None or not extension.isVisible()  # no buttons hidden behind "»"
    for button in window.top.panel_buttons():
        assert button.isVisible()
        right = button.mapTo(window, button.rect().topRight()).x()
        assert right <= window.width(), button.accessibleName()
