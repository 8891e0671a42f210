"""The app's log: stdlib ``logging`` to a rotating file under the data root.

Categories are logger names: ``chatdesk.engine`` (engine host start, stop, death; model
loads), ``chatdesk.turns`` (each reply: conversation, model, engine, timing),
``chatdesk.documents`` (retrieval per turn), ``chatdesk.tools`` (tool runs),
``chatdesk.api`` (the API server), ``chatdesk.models`` (hashing, library),
``chatdesk.store`` (migrations, backups), ``chatdesk.hub`` (downloads), ``chatdesk.ui``
(uncaught errors in the window), ``chatdesk.threads`` (uncaught errors in worker threads),
``chatdesk.cli``. ``setup_logging`` is called once by the window and by each command; it is
idempotent.

Nothing dies without a trace. ``setup_logging`` also makes ``threading.excepthook`` write a
worker thread's uncaught exception to the log (then to stderr, as Python does), and points
``faulthandler`` at the log file, so a hard crash (a segfault in a native library, a fatal
error) leaves the Python stacks of every thread there. A log that cannot be written (the disk
is full, the file was removed) costs nothing: records are dropped silently and counted
(``LogFile.dropped``), never printed over the user's terminal or raised into the app.
"""

from __future__ import annotations

import faulthandler
import logging
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO

from chatdesk import paths

MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"
thread_log = logging.getLogger("chatdesk.threads")
_fault_file: list[IO[str]] = []  # kept open: faulthandler writes to its descriptor


class LogFile(RotatingFileHandler):
    """The rotating log file; a record that cannot be written is dropped quietly."""

    dropped = 0

    def handleError(self, record: logging.LogRecord) -> None:
        """Count the lost record instead of printing a traceback to stderr."""
        LogFile.dropped += 1

    def doRollover(self) -> None:
        """Rotate, and let ``faulthandler`` follow to the new file."""
        super().doRollover()
        if _fault_file:
            point_faulthandler(Path(self.baseFilename))


def log_path() -> Path:
    """The current log file."""
    return paths.data_root() / "logs" / "chatdesk.log"


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send ``chatdesk.*`` records to the rotating log file; its path (None if unwritable)."""
    logger = logging.getLogger("chatdesk")
    target = log_path()
    for handler in logger.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == target:
            return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = LogFile(
            target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except OSError:
        return None  # a read-only data root must not stop the app
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    install_crash_logging(target)
    return target


def install_crash_logging(target: Path) -> None:
    """Worker-thread exceptions and fatal errors go to the log at ``target`` from now on."""
    if threading.excepthook is threading.__excepthook__:  # someone else's hook stays
        threading.excepthook = log_thread_exception
    if not _fault_file:
        point_faulthandler(target)


def point_faulthandler(target: Path) -> None:
    """Make ``faulthandler`` write to ``target`` (kept open for the process's life)."""
    try:
        fault_file = target.open("a", encoding="utf-8")
    except OSError:
        return  # the disk is full or the folder went away: keep the old target
    faulthandler.enable(file=fault_file, all_threads=True)
    for old in _fault_file:
        old.close()
    _fault_file[:] = [fault_file]


def log_thread_exception(args: threading.ExceptHookArgs) -> None:
    """``threading.excepthook``: the traceback into the log, then Python's own report."""
    if not issubclass(args.exc_type, SystemExit):
        name = args.thread.name if args.thread is not None else "unknown"
        thread_log.error(
            "uncaught exception in thread %s",
            name,
            exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
        )
    threading.__excepthook__(args)
