"""Icons for every action: Phosphor (regular weight), tinted to the palette, one cache.

The set is Phosphor Icons 2.1.1 (`@phosphor-icons/core` on npm, MIT licence, copied into
``resources/icons/phosphor`` with its LICENSE; ``scripts/vendor_icons.py`` copies it again at
another version). Vendored SVGs rather than an icon-font package such as ``qtawesome``:
that package needs QtPy and loads a dozen fonts (about 6 MB) on the first icon, which
measured 170 ms of start-up here, where these SVGs cost about a millisecond each.

Each SVG draws with ``currentColor``; ``icon()`` substitutes the palette's text colour
(and its disabled colour for the disabled state) so icons follow the light and dark
themes. Widgets ask by *action name* (``icon("copy")``), never by file name, so an icon
can change in one place. ``tooltip()`` puts the shortcut in the tooltip.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

FOLDER = Path(__file__).resolve().parents[2] / "resources" / "icons" / "phosphor"
SIZES = (16, 20, 24, 32)

ACTIONS = {
    "copy": "copy",
    "regenerate": "arrow-clockwise",
    "edit": "pencil-simple",
    "continue": "fast-forward",
    "tokens": "chart-bar",
    "branch": "git-branch",
    "settings": "gear-six",
    "sidebar": "sidebar-simple",
    "send": "paper-plane-right",
    "stop": "stop",
    "search": "magnifying-glass",
    "new-chat": "plus",
    "play": "play",
    "expand": "caret-down",
    "collapse": "caret-up",
    "collapsed": "caret-right",
    "tools": "wrench",
    "documents": "files",
    "export": "export",
    "model": "cpu",
    "models": "cube",
    "chat": "chat-circle",
    "reasoning": "brain",
    "code": "code",
    "done": "check",
    "menu": "list",
    "sampling": "sliders-horizontal",
    "delete": "trash",
    "close": "x",
    "next": "arrow-right",
    "more": "dots-three",
    "download": "download-simple",
    "light": "sun",
    "dark": "moon",
    "help": "question",
    "warning": "warning",
    "info": "info",
    "open-folder": "folder-open",
    "guide": "book-open",
    "prompt": "terminal",
    "engines": "hard-drives",
    "mcp": "plugs-connected",
    "api-server": "globe",
    "history": "clock-counter-clockwise",
    "appearance": "text-aa",
    "pin": "push-pin",
    "sources": "quotes",
    "examples": "lightbulb",
    "approve": "shield-check",
    "reply-format": "arrow-bend-up-left",
    "previous-version": "caret-left",
    "next-version": "caret-right",
}


def icon(action: str) -> QIcon:
    """The icon for ``action`` in the current palette's colours (normal and disabled)."""
    palette = QApplication.palette()
    normal = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    return _tinted(action, normal.name(), disabled.name())


def tooltip(text: str, shortcut: str = "") -> str:
    """``text`` with its shortcut, as every icon button's tooltip shows it."""
    return f"{text} ({shortcut})" if shortcut else text


@cache
def _tinted(action: str, normal: str, disabled: str) -> QIcon:
    source = _svg(ACTIONS[action])
    result = QIcon()
    for size in SIZES:
        result.addPixmap(_render(source, normal, size), QIcon.Mode.Normal)
        result.addPixmap(_render(source, disabled, size), QIcon.Mode.Disabled)
    return result


@cache
def _svg(name: str) -> str:
    return (FOLDER / f"{name}.svg").read_text(encoding="utf-8")


def _render(source: str, colour: str, size: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(source.replace("currentColor", colour).encode()))
    pixmap = QPixmap(QSize(size, size))
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    renderer.render(painter)
    painter.end()
    return pixmap
