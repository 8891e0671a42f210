"""What every part of ``Store`` shares: the connection, a lock, row helpers, transactions."""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from chatdesk.store.errors import DiskFullError, ReadOnlyError, StoreBusyError

Row = tuple[Any, ...]
BUSY_RETRY_S = 15.0  # longest a write waits for another process's write lock, in all


def synchronized[**P, R](method: Callable[P, R]) -> Callable[P, R]:
    """Run a Store method under the store's lock (one connection, shared across threads)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store = args[0]
        assert isinstance(store, StoreBase)
        with store._lock:
            return method(*args, **kwargs)

    return wrapper


def dump_json(value: dict[str, Any] | None) -> str:
    """A settings dict as stored JSON text (key order kept, unicode kept)."""
    return json.dumps(value or {}, ensure_ascii=False)


def load_json(text: str | None) -> dict[str, Any]:
    """Stored JSON text back to a dict; anything that is not an object reads as empty."""
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


class StoreBase:
    """The connection and the helpers the Store's parts build on."""

    _db: Database
    _lock: threading.RLock
    path: Path

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._db.execute(sql, list(params)).fetchall())

    def _row(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._db.execute(sql, list(params)).fetchone()
        return None if row is None else tuple(row)

    def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one modifying statement; returns the number of rows changed.

        Outside a transaction a busy database is retried (each try waits BUSY_TIMEOUT_MS
        inside SQLite) for up to BUSY_RETRY_S in all; then StoreBusyError says so. A
        read-only database gives ReadOnlyError, a full disk DiskFullError, naming the file.
        """
        deadline = time.monotonic() + BUSY_RETRY_S
        while True:
            try:
                cursor: sqlite3.Cursor = self._db.execute(sql, list(params))
                return cursor.rowcount
            except sqlite3.OperationalError as error:
                self._raise_clear(error, retry=time.monotonic() < deadline)

    def _raise_clear(self, error: sqlite3.OperationalError, retry: bool) -> None:
        """Return to retry a busy write; else raise the error as the user should see it."""
        text = str(error).lower()
        if "readonly" in text or "read-only" in text:
            raise ReadOnlyError(
                f"cannot save: the database {self.path} is read-only "
                "(check the permissions of the file and its folder)"
            ) from error
        if "full" in text:
            raise DiskFullError(
                f"the disk is full: cannot save to {self.path} (free some space on it)"
            ) from error
        busy = "locked" in text or "busy" in text
        if busy and retry and not self._db.conn.in_transaction:
            return
        if busy:
            raise StoreBusyError(
                f"the database {self.path} stayed locked by another ChatDesk process "
                "(a large import?); nothing was saved, try again"
            ) from error
        raise error

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several store calls into one transaction (nested: a savepoint).

        The outermost one takes the write lock first (``BEGIN IMMEDIATE``), waiting for
        another process's lock as ``_write`` does, so it never fails half way for a lock.
        """
        with self._lock:
            if self._db.conn.in_transaction:
                with self._db.atomic():
                    yield
                return
            self._write("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.conn.execute("ROLLBACK")
                raise
            try:
                self._db.conn.execute("COMMIT")
            except sqlite3.OperationalError as error:  # a full disk shows up here too
                if self._db.conn.in_transaction:
                    self._db.conn.execute("ROLLBACK")
                self._raise_clear(error, retry=False)
