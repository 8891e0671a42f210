"""The app's log: stdlib ``logging`` to a rotating file under the data root.

Categories are logger names: ``chatdesk.engine`` (engine host start, stop, death; model
loads), ``chatdesk.models`` (hashing, library), ``chatdesk.store`` (migrations, backups),
``chatdesk.hub`` (downloads), ``chatdesk.ui`` (uncaught errors in the window), ``chatdesk.cli``.
``setup_logging`` is called once by the window and by each command; it is idempotent.

A log that cannot be written (a full disk, a folder gone read-only) fails quietly:
``QuietFileHandler`` drops the record instead of printing logging's own traceback to
stderr for each one (thousands of lines around one real error line on a full disk), and
tries again with the next record, so logging resumes once space is freed.
"""

from __future__ import annotations

import contextlib
import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from chatdesk import paths

MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"


class QuietFileHandler(RotatingFileHandler):
    """A rotating log file whose write failures drop the record silently (counted)."""

    dropped = 0

    def handleError(self, record: logging.LogRecord) -> None:
        del record
        self.dropped += 1
        if self.stream is not None:  # reopen with the next record (space may be back)
            with contextlib.suppress(OSError):
                self.stream.close()
            self.stream = None


def log_path() -> Path:
    """The current log file."""
    return paths.data_root() / "logs" / "chatdesk.log"


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send ``chatdesk.*`` records to the rotating log file; its path (None if unwritable)."""
    logger = logging.getLogger("chatdesk")
    target = log_path()
    for handler in logger.handlers:
        if isinstance(handler, QuietFileHandler) and Path(handler.baseFilename) == target:
            return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = QuietFileHandler(
            target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except OSError:
        return None  # a read-only data root must not stop the app
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    return target
