"""Conversation store: SQLite through sqlite-utils, with migrations and full-text search.

``Store(path=None)`` opens (and migrates) ``chatdesk.paths.database_path()``.
"""

from chatdesk.store.conversations import UNCHANGED
from chatdesk.store.errors import (
    DatabaseFileError,
    DiskFullError,
    InvalidValueError,
    MigrationError,
    NotFoundError,
    ReadOnlyError,
    SchemaTooNewError,
    StoreBusyError,
    StoreError,
)
from chatdesk.store.messages import ACTIVE_LEAF
from chatdesk.store.models import ROLES, STAT_FIELDS, STATUSES, Conversation, Message, SearchHit
from chatdesk.store.store import Store

__all__ = [
    "ACTIVE_LEAF",
    "ROLES",
    "STATUSES",
    "STAT_FIELDS",
    "UNCHANGED",
    "Conversation",
    "DatabaseFileError",
    "DiskFullError",
    "InvalidValueError",
    "Message",
    "MigrationError",
    "NotFoundError",
    "ReadOnlyError",
    "SchemaTooNewError",
    "SearchHit",
    "Store",
    "StoreBusyError",
    "StoreError",
]
