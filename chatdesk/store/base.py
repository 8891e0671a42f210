"""What every part of ``Store`` shares: the connection, a lock, row helpers, transactions."""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlite_utils import Database

Row = tuple[Any, ...]


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

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._db.execute(sql, list(params)).fetchall())

    def _row(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._db.execute(sql, list(params)).fetchone()
        return None if row is None else tuple(row)

    def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one modifying statement; returns the number of rows changed."""
        cursor: sqlite3.Cursor = self._db.execute(sql, list(params))
        return cursor.rowcount

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several store calls into one transaction (nested: a savepoint)."""
        with self._lock, self._db.atomic():
            yield
