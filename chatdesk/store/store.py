"""``Store``: the conversation database, opened and migrated in one step."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from types import TracebackType

from sqlite_utils.migrations import Migrations

from chatdesk import paths
from chatdesk.store.app_settings import SettingsMixin
from chatdesk.store.attached_collections import AttachedCollectionsMixin
from chatdesk.store.base import synchronized
from chatdesk.store.conversations import ConversationsMixin
from chatdesk.store.database import open_database, writable
from chatdesk.store.errors import DatabaseFileError, StoreError
from chatdesk.store.messages import MessagesMixin
from chatdesk.store.passages import PassagesMixin
from chatdesk.store.processes import forget_owner
from chatdesk.store.schema import MIGRATIONS
from chatdesk.store.search import SearchMixin
from chatdesk.store.token_probabilities import TokenProbabilitiesMixin
from chatdesk.store.tool_audit import ToolAuditMixin


class Store(
    ConversationsMixin,
    MessagesMixin,
    SearchMixin,
    SettingsMixin,
    TokenProbabilitiesMixin,
    ToolAuditMixin,
    PassagesMixin,
    AttachedCollectionsMixin,
):
    """All conversations, messages and app settings of one ChatDesk data root.

    Safe to share between threads (calls are serialised by a lock). Opening creates the
    folder and database if needed and applies pending migrations, after copying an
    existing database aside (``backup_path`` says where), then marks replies left
    ``streaming`` by a process that is gone as ``interrupted``. A database in a read-only
    place opens read-only (``read_only``): reading works, writes raise ReadOnlyError.
    """

    def __init__(self, path: Path | str | None = None, *, migrations: Migrations = MIGRATIONS):
        self.path = Path(path) if path is not None else paths.database_path()
        self._lock = threading.RLock()
        self._db, self.backup_path = open_database(self.path, migrations)
        self.read_only = not writable(self.path)
        if not self.read_only:
            self._recover_at_open()

    def _recover_at_open(self) -> None:
        """Replies whose writer crashed become interrupted; a damaged file says which."""
        try:
            with contextlib.suppress(StoreError):  # busy: the next start recovers them
                self.recover_interrupted()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise DatabaseFileError(f"the database {self.path} is damaged: {error}") from error

    @synchronized
    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: changes when another connection commits."""
        row = self._row("PRAGMA data_version")
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the database (checkpointing the write-ahead log)."""
        with self._lock:
            forget_owner(self)
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"
