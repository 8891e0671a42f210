"""Start the Qt application: services, main window, event loop."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from chatdesk import __version__
from chatdesk.services.app_services import AppServices
from chatdesk.ui.main_window import MainWindow


def create_application(argv: list[str]) -> QApplication:
    """The QApplication (reused when one exists, as under pytest-qt)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(argv)
    app.setApplicationName("ChatDesk")
    app.setApplicationDisplayName("ChatDesk")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("chatdesk")
    return app


def create_window(app: QApplication, services: AppServices) -> MainWindow:
    """The main window, following the system's light/dark scheme while it is open."""
    window = MainWindow(services, app)
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: window.system_scheme_changed())
    return window


def run_app(argv: list[str]) -> int:
    """Open the main window and run the event loop; returns the exit status."""
    app = create_application(argv)
    try:
        services = AppServices.create()
    except Exception as error:  # a database we must not touch, an unreadable data root
        QMessageBox.critical(None, "ChatDesk", f"ChatDesk cannot open its data:\n\n{error}")
        print(f"chatdesk: error: {error}", file=sys.stderr)
        return 1
    window = create_window(app, services)
    window.show()
    window.composer.focus()
    try:
        return app.exec()
    finally:
        services.close()
