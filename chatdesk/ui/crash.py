"""The crash hook: an uncaught exception in the window is logged, shown, and loses nothing.

Qt calls ``sys.excepthook`` for an exception escaping a slot and then carries on. The hook
writes the traceback to the log (``chatdesk.logs``), saves the streaming reply's text so
far (every other write is already committed), and shows a dialog naming the log file. The
dialog is non-modal, so one error never blocks the window.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType

from PySide6.QtWidgets import QMessageBox, QWidget

from chatdesk.logs import log_path
from chatdesk.services.app_services import AppServices

log = logging.getLogger("chatdesk.ui")


class CrashHook:
    """Installed as ``sys.excepthook`` while the window is open."""

    def __init__(self, window: QWidget, services: AppServices) -> None:
        self.window = window
        self.services = services
        self.dialog: QMessageBox | None = None
        self.previous = sys.excepthook

    def install(self) -> None:
        """Become the process's exception hook."""
        sys.excepthook = self

    def uninstall(self) -> None:
        """Give the previous hook back."""
        if sys.excepthook is self:
            sys.excepthook = self.previous

    def __call__(
        self, kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        log.error("uncaught exception in the window", exc_info=(kind, error, trace))
        self._save_reply()
        self._show(f"{kind.__name__}: {error}")

    def _save_reply(self) -> None:
        turn = self.services.turns.current
        if turn is None:
            return
        try:
            self.services.turns.persist_reply(turn, final=False)
        except Exception:  # the report matters more than this save
            log.exception("could not save the streaming reply")

    def _show(self, summary: str) -> None:
        text = (
            "Something went wrong inside ChatDesk. Your conversations are saved.\n\n"
            f"{summary}\n\nDetails are in the log file:\n{log_path()}"
        )
        self.dialog = QMessageBox(QMessageBox.Icon.Critical, "ChatDesk", text, parent=self.window)
        self.dialog.setObjectName("crashDialog")
        self.dialog.open()
