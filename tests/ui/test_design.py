"""The design system: WCAG AA contrast of both palettes (computed from the palette values),
code highlighting colours on the code background, a visible focus ring, sizes that follow
the font size, and looks that reach the widgets through the one stylesheet."""

from __future__ import annotations

import pytest
from pygments.styles import get_style_by_name
from pygments.token import Whitespace
from PySide6.QtCore import Qt, qInstallMessageHandler
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from chatdesk.ui import design, theme

PALETTES = {"light": design.LIGHT, "dark": design.DARK}


@pytest.mark.parametrize("name", PALETTES)
def test_every_text_and_background_pair_meets_wcag_aa(name: str) -> None:
    failures = [
        f"{what}: {fg} on {bg} is {design.contrast(fg, bg):.2f}:1, needs {minimum}:1"
        for what, fg, bg, minimum in design.text_pairs(PALETTES[name])
        if design.contrast(fg, bg) < minimum
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", PALETTES)
def test_highlighted_code_is_readable_on_the_code_background(name: str) -> None:
    colours = PALETTES[name]
    style = get_style_by_name(colours.pygments)
    failures = [
        f"{token}: #{spec['color']} is {design.contrast('#' + spec['color'], colours.code):.2f}:1"
        for token, spec in style
        if spec["color"]
        and token not in Whitespace  # visible-whitespace marks, not text
        and design.contrast("#" + spec["color"], colours.code) < design.BODY_TEXT
    ]
    assert not failures, "\n".join(failures)


def test_contrast_formula_matches_wcag_reference_values() -> None:
    assert design.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert design.contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert design.contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("name", PALETTES)
def test_focus_is_always_visible(name: str) -> None:
    sheet = design.stylesheet(PALETTES[name])
    focus_rules = [line for line in sheet.splitlines() if ":focus" in line]
    for kind in ("QToolButton", "QPushButton", "QLineEdit", "QPlainTextEdit", "#messageBody"):
        assert any(kind in rule for rule in focus_rules), f"no focus ring for {kind}"
    assert "outline: none" not in sheet


def test_sizes_follow_the_font_size() -> None:
    base, large = design.DEFAULT_FONT_SIZE, 2 * design.DEFAULT_FONT_SIZE
    assert design.space("md", large) == 2 * design.space("md", base)
    assert design.radius("md", large) == 2 * design.radius("md", base)
    assert design.column_width(base) == design.COLUMN_MAX
    assert design.column_width(large) == 2 * design.COLUMN_MAX
    assert theme.Theme(False, large).icon_size().width() == 2 * design.ICON
    assert design.type_pt("title", large) > design.type_pt("body", large) == large
    assert f"font-size: {design.type_pt('small', large)}pt" in design.stylesheet(
        design.LIGHT, large
    )


def test_looks_reach_widgets_and_follow_the_theme(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old_sheet, old_palette = app.styleSheet(), app.palette()
    warnings: list[str] = []
    previous = qInstallMessageHandler(lambda _kind, _context, text: warnings.append(text))
    try:
        for dark in (False, True):
            theme.apply_theme(app, "dark" if dark else "light", 12)
            label = QLabel("hint")
            qtbot.addWidget(label)
            theme.set_look(label, "muted")
            label.ensurePolished()
            colour = label.palette().color(QPalette.ColorRole.WindowText).name()
            assert colour == design.colours(dark).muted
            assert app.palette().color(QPalette.ColorRole.Base).name() == (
                design.colours(dark).surface
            )
            assert theme.current() == theme.Theme(dark, 12)
        assert not [w for w in warnings if "style" in w.lower()]  # the sheet parses
        with pytest.raises(KeyError):
            theme.set_look(QLabel(), "no-such-look")
    finally:
        qInstallMessageHandler(previous)
        app.setStyleSheet(old_sheet)
        app.setPalette(old_palette)


def test_a_focused_control_shows_the_focus_ring(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old_sheet, old_palette = app.styleSheet(), app.palette()
    try:
        for mode in ("light", "dark"):
            theme.apply_theme(app, mode, design.DEFAULT_FONT_SIZE)
            page = QWidget()
            qtbot.addWidget(page)
            column = QVBoxLayout(page)
            field, button = QLineEdit("text", page), theme.icon_button("copy", "Copy", "C", page)
            column.addWidget(field)
            column.addWidget(button)
            page.show()
            page.activateWindow()
            qtbot.waitUntil(page.isActiveWindow)
            for control in (field, button):
                control.setFocus(Qt.FocusReason.TabFocusReason)
                qtbot.waitUntil(control.hasFocus)
                edge = control.grab().toImage().pixelColor(1, control.height() // 2)
                assert edge.name() == theme.current().colours.focus, (mode, control)
    finally:
        app.setStyleSheet(old_sheet)
        app.setPalette(old_palette)
