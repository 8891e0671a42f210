"""The crash hook: an uncaught exception in the window is logged, shown, and loses nothing.

Qt calls ``sys.excepthook`` for an exception escaping a slot and then carries on. The hook
writes the traceback to the log (``chatdesk.logs``), saves the streaming reply's text so
far (every other write is already committed), and shows a dialog naming the log file. The
dialog is non-modal, so one error never blocks the window.

Worker threads (downloads, indexing, retrieval before a reply, engine readers) end with
``threading.excepthook``: the hook logs the traceback there, on that thread, and hands the
report to the GUI thread through the window's bridge (the one way into it), where the same
save and dialog follow.
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox, QWidget

from chatdesk.logs import log_path, log_thread_exception
from chatdesk.services.app_services import AppServices

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow

log = logging.getLogger("chatdesk.ui")


class CrashHook:
    """Installed as ``sys.excepthook`` and ``threading.excepthook`` while the window is open."""

    def __init__(self, window: MainWindow, services: AppServices) -> None:
        self.window: QWidget = window
        self.services = services
        self.dispatch = window.bridge.dispatch
        self.dialog: QMessageBox | None = None
        self.previous = sys.excepthook
        self.previous_thread_hook = threading.excepthook

    def install(self) -> None:
        """Become the process's exception hooks (GUI thread and worker threads)."""
        self.previous, self.previous_thread_hook = sys.excepthook, threading.excepthook
        sys.excepthook = self
        threading.excepthook = self.thread_exception

    def uninstall(self) -> None:
        """Give the previous hooks back."""
        if sys.excepthook is self:
            sys.excepthook = self.previous
        if threading.excepthook == self.thread_exception:
            threading.excepthook = self.previous_thread_hook

    def thread_exception(self, args: threading.ExceptHookArgs) -> None:
        """A worker thread died: log it there, report it on the GUI thread (the bridge)."""
        log_thread_exception(args)
        if issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "a worker thread"
        summary = f"{args.exc_type.__name__}: {args.exc_value} (in {name})"
        self.dispatch(lambda: self.report(summary))

    def __call__(
        self, kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        log.error("uncaught exception in the window", exc_info=(kind, error, trace))
        self.report(f"{kind.__name__}: {error}")

    def report(self, summary: str) -> None:
        """On the GUI thread: save the streaming reply, show the dialog."""
        self._save_reply()
        self._show(summary)

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
