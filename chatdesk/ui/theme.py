"""The design system (``chatdesk.ui.design``) applied to the application: light or dark
following the system's colour scheme unless the user picks one, the font size, the palette
and the one stylesheet; and the helpers widgets use to take their looks from it.

``apply_theme`` is the only place that sets the application's palette, font and stylesheet.
It remembers what it applied (``current()``), so a widget built later asks
``current().space("md")`` or ``current().colours.muted`` instead of hard-coding a value.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QHBoxLayout,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from chatdesk.ui import design
from chatdesk.ui.design import DEFAULT_FONT_SIZE, Colours
from chatdesk.ui.icons import icon, tooltip
from chatdesk.ui.rendering import DARK, LIGHT, Palette, content_palette

__all__ = [
    "DARK",
    "DEFAULT_FONT_SIZE",
    "LIGHT",
    "Theme",
    "apply_theme",
    "centred",
    "current",
    "icon_button",
    "repolish",
    "section_toggle",
    "set_look",
]


@dataclass(frozen=True)
class Theme:
    """What ``apply_theme`` applied last: the palette, the body size and sizes derived."""

    dark: bool = False
    font_pt: int = DEFAULT_FONT_SIZE

    @property
    def colours(self) -> Colours:
        return design.colours(self.dark)

    def space(self, step: str) -> int:
        """A spacing step (``design.SPACE``) in px at the current font size."""
        return design.space(step, self.font_pt)

    def radius(self, step: str) -> int:
        """A corner radius (``design.RADIUS``) in px at the current font size."""
        return design.radius(step, self.font_pt)

    def column_width(self) -> int:
        """The conversation column's cap in px at the current font size."""
        return design.column_width(self.font_pt)

    def icon_size(self) -> QSize:
        """Icons grow with the text (16 px at the default size)."""
        side = round(design.ICON * design.scale(self.font_pt))
        return QSize(side, side)


_applied = [Theme()]  # one slot: what apply_theme applied last


def current() -> Theme:
    """The theme applied last (light, default size before the window applies one)."""
    return _applied[0]


def system_is_dark() -> bool:
    """True when the desktop asks for a dark colour scheme."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def qpalette(c: Colours) -> QPalette:
    """A Fusion palette in the design's colours, so unstyled widgets match."""
    palette = QPalette()
    roles = QPalette.ColorRole
    colours = {
        roles.Window: c.window,
        roles.WindowText: c.text,
        roles.Base: c.surface,
        roles.AlternateBase: c.window,
        roles.Text: c.text,
        roles.Button: c.raised,
        roles.ButtonText: c.text,
        roles.BrightText: c.on_accent,
        roles.Highlight: c.accent,
        roles.HighlightedText: c.on_accent,
        roles.Link: c.link,
        roles.LinkVisited: c.link,
        roles.ToolTipBase: c.raised,
        roles.ToolTipText: c.text,
        roles.PlaceholderText: c.muted,
        roles.Mid: c.control,
        roles.Midlight: c.border,
        roles.Dark: c.control,
        roles.Light: c.raised,
        roles.Shadow: c.control,
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (roles.Text, roles.ButtonText, roles.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    return palette


def apply_theme(app: QApplication, mode: str, font_size: int) -> Palette:
    """Apply "system", "light" or "dark" plus the font size; returns the content palette."""
    dark = system_is_dark() if mode == "system" else mode == "dark"
    _applied[0] = Theme(dark, font_size)
    c = design.colours(dark)
    app.setStyle("Fusion")
    app.setPalette(qpalette(c))
    font = QFont(app.font())
    font.setPointSize(font_size)
    app.setFont(font)
    app.setStyleSheet(design.stylesheet(c, font_size))
    return content_palette(c)


# -- helpers for widgets ----------------------------------------------------------------


def set_look(widget: QWidget, look: str) -> None:
    """Give ``widget`` one of ``design.LOOKS`` (a property the stylesheet matches)."""
    if look not in design.LOOKS:
        raise KeyError(f"unknown look {look!r}; see chatdesk.ui.design.LOOKS")
    widget.setProperty("look", look)
    repolish(widget)


def repolish(widget: QWidget) -> None:
    """Re-apply the stylesheet after a property it matches changed on a shown widget."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


ICON_PROPERTY = "chatdeskIcon"  # the action whose icon a button shows (for re-tinting)


def set_icon(target: QAbstractButton | QAction, action: str) -> None:
    """Give ``target`` the icon of ``action`` and remember it, so a theme change draws it
    again in the new palette's colours (``icon_buttons.retint``)."""
    target.setIcon(icon(action))
    target.setProperty(ICON_PROPERTY, action)


def icon_button(
    action: str, text: str, shortcut: str = "", parent: QWidget | None = None
) -> QToolButton:
    """An icon-only tool button for ``action`` (``icons.ACTIONS``): ``text`` is its accessible
    name and (with the shortcut) its tooltip, so screen readers and tests find it by name."""
    button = QToolButton(parent)
    set_icon(button, action)
    button.setIconSize(current().icon_size())
    button.setToolTip(tooltip(text, shortcut))
    button.setAccessibleName(text)
    button.setAutoRaise(True)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.setProperty("look", "icon")
    return button


def section_toggle(text: str, parent: QWidget | None = None) -> QToolButton:
    """The header of a collapsible section: a caret (right when closed, down when open)
    beside ``text``, checkable, closed at first; connect ``toggled`` to show the content."""
    button = QToolButton(parent)
    button.setCheckable(True)
    button.setAutoRaise(True)
    button.setText(text)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    set_icon(button, "collapsed")
    button.setIconSize(current().icon_size())
    button.toggled.connect(lambda on: set_icon(button, "expand" if on else "collapsed"))
    button.setProperty("look", "section")
    return button


def centred(content: QWidget, parent: QWidget | None = None) -> QWidget:
    """``content`` in a row that centres it and caps it at the conversation column's width
    (wide windows get margins on both sides; narrow ones give it all the width)."""
    row = QWidget(parent)
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addStretch(1)
    content.setMaximumWidth(current().column_width())
    content.setSizePolicy(QSizePolicy.Policy.Expanding, content.sizePolicy().verticalPolicy())
    layout.addWidget(content, 100)
    layout.addStretch(1)
    return row
