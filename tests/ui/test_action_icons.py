"""Every action's icon exists, renders, follows the palette, and the set's licence is MIT."""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from chatdesk.ui import icons


def test_every_action_has_a_rendered_icon(qtbot: QtBot) -> None:
    for action in icons.ACTIONS:
        pixmap = icons.icon(action).pixmap(24, 24)
        assert not pixmap.isNull(), action
        image = pixmap.toImage()
        drawn = [image.pixelColor(x, y).alpha() for x in range(24) for y in range(24)]
        assert max(drawn) > 0, f"{action} draws nothing"


def test_icons_take_the_palette_text_colour(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old = app.palette()
    try:
        palette = QPalette(old)
        palette.setColor(QPalette.ColorRole.ButtonText, QColor("#ff0000"))
        disabled_group = QPalette.ColorGroup.Disabled
        palette.setColor(disabled_group, QPalette.ColorRole.ButtonText, QColor("#808080"))
        app.setPalette(palette)
        image = icons.icon("stop").pixmap(32, 32).toImage()
        colours = {
            image.pixelColor(x, y).name()
            for x in range(32)
            for y in range(32)
            if image.pixelColor(x, y).alpha() == 255
        }
        assert colours == {"#ff0000"}
        disabled = icons.icon("stop").pixmap(32, 32, QIcon.Mode.Disabled).toImage()
        assert any(
            disabled.pixelColor(x, y).name() == "#808080" for x in range(32) for y in range(32)
        )
    finally:
        app.setPalette(old)


def test_tooltip_names_the_shortcut() -> None:
    assert icons.tooltip("Send", "Ctrl+Return") == "Send (Ctrl+Return)"
    assert icons.tooltip("Copy") == "Copy"


def test_the_icon_set_is_mit_licensed() -> None:
    licence = (icons.FOLDER / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License")
    assert "Phosphor Icons" in licence
