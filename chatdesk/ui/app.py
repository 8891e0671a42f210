"""Start the Qt application: services, main window, event loop."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from chatdesk import __version__
from chatdesk.logs import setup_logging
from chatdesk.paths import database_path
from chatdesk.services.app_services import AppServices
from chatdesk.ui import system_libraries
from chatdesk.ui.collector import GuiThreadCollector
from chatdesk.ui.crash import CrashHook
from chatdesk.ui.main_window import MainWindow

# resources/ sits beside the chatdesk package, in a checkout and in the PyInstaller bundle alike.
APP_ICON = Path(__file__).resolve().parents[2] / "resources" / "icons" / "chatdesk.svg"
DESKTOP_FILE_NAME = "app.chatdesk.ChatDesk"  # packaging/linux/app.chatdesk.ChatDesk.desktop


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
    app.setDesktopFileName(DESKTOP_FILE_NAME)
    if APP_ICON.is_file():
        app.setWindowIcon(QIcon(str(APP_ICON)))
    return app


def create_window(app: QApplication, services: AppServices) -> MainWindow:
    """The main window, following the system's light/dark scheme while it is open."""
    window = MainWindow(services, app)
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: window.system_scheme_changed())
    # Everything loaded so far (Qt wrappers, Markdown, Pygments, the store) lives as long as
    # the app: keep it out of the garbage collector's full passes, which otherwise scan it
    # all and stall the event loop for tens of milliseconds while a reply streams.
    gc.collect()
    gc.freeze()
    return window


def run_app(argv: list[str]) -> int:
    """Open the main window and run the event loop; returns the exit status."""
    if system_libraries.uses_xcb() and (missing := system_libraries.missing_libraries()):
        print(f"chatdesk: error: {system_libraries.advice(missing)}", file=sys.stderr)
        return 1
    app = create_application(argv)
    setup_logging()
    try:
        services = AppServices.create()
    except Exception as error:  # a database we must not touch, an unreadable data root
        where = database_path()
        text = f"ChatDesk cannot open its data ({where}):\n\n{error}"
        QMessageBox.critical(None, "ChatDesk", text)
        print(f"chatdesk: error: {error}", file=sys.stderr)
        return 1
    window = create_window(app, services)
    hook = CrashHook(window, services)
    hook.install()
    collector = GuiThreadCollector(window)
    collector.start()
    window.show()
    window.composer.focus()
    services.engine.warm_up()
    try:
        return app.exec()
    finally:
        collector.stop()
        hook.uninstall()
        services.close()
