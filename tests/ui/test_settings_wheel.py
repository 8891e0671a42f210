"""The wheel over the settings panel scrolls it; it changes a field only once focused.

The events are sent, not spontaneous, so Qt does not pass an ignored one on to the parents
here: the tests check that the box leaves it (the real window's panel then scrolls)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QSpinBox, QWidget
from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine

MakeWindow = Callable[..., MainWindow]


def wheel_down(widget: QWidget) -> bool:
    """One notch of the wheel, downwards, over the middle of ``widget``; whether the widget
    took it (an ignored wheel event goes on to the panel, which scrolls)."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_wheel_over_unfocused_boxes_leaves_settings_alone(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    panel = window.settings_panel
    temperature = panel.conversation.boxes["temperature"]
    policy = panel.model.policy
    before = (temperature.value(), policy.currentIndex())
    window.composer.text.setFocus()
    for box in (temperature, policy):
        assert not box.hasFocus()
        assert not wheel_down(box)  # left to the panel to scroll
    assert (temperature.value(), policy.currentIndex()) == before
    temperature.setFocus()
    wheel_down(temperature)  # a focused box still takes the wheel
    assert temperature.value() == pytest.approx(before[0] - temperature.singleStep())


def test_boxes_built_when_a_section_opens_are_guarded(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    window.dock.show()
    window.settings_panel.show_section("API server")  # its page is built on first show
    port = window.settings_panel.section("API server").findChild(QSpinBox)
    assert port is not None
    before = port.value()
    assert not wheel_down(port)
    assert port.value() == before
