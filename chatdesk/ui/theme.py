"""Light and dark themes: follow the system's colour scheme unless the user picks one."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from chatdesk.ui.rendering import DARK, LIGHT, Palette

DEFAULT_FONT_SIZE = 11

STYLE = """
#message-user {{ background: {user_bg}; border-radius: 8px; }}
#message-assistant {{ background: {assistant_bg}; border-radius: 8px; }}
#roleLabel {{ font-weight: bold; }}
#messageBody {{ background: transparent; }}
#modelLabel, #statusLine, #emptyHint {{ color: {muted}; }}
#errorText {{ color: {error}; }}
#noticeBar {{ background: {notice_bg}; border-radius: 6px; }}
#undoBar {{ background: {notice_bg}; border-radius: 6px; }}
#chatContainer {{ background: {base}; }}
#welcome {{ background: {base}; }}
"""


def system_is_dark() -> bool:
    """True when the desktop asks for a dark colour scheme."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style."""
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#202226",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#17181b",
        QPalette.ColorRole.AlternateBase: "#25272c",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#2b2d32",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.Highlight: "#3d6fd6",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#7aa7ff",
        QPalette.ColorRole.ToolTipBase: "#2b2d32",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8a8f98",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b6f76"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6b6f76"))
    return palette


def apply_theme(app: QApplication, mode: str, font_size: int) -> Palette:
    """Apply "system", "light" or "dark" plus the font size; returns the content palette."""
    dark = system_is_dark() if mode == "system" else mode == "dark"
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    font = QFont(app.font())
    font.setPointSize(font_size)
    app.setFont(font)
    app.setStyleSheet(
        STYLE.format(
            user_bg="#2a3442" if dark else "#e8f0fe",
            assistant_bg="#1d1f23" if dark else "#ffffff",
            base="#17181b" if dark else "#f7f7f8",
            muted="#9aa3b1" if dark else "#6b7280",
            error="#ff7b72" if dark else "#b42318",
            notice_bg="#3a3222" if dark else "#fff4d6",
        )
    )
    return DARK if dark else LIGHT
