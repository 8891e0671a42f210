"""Exceptions raised by the conversation store."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class NotFoundError(StoreError, LookupError):
    """A conversation or message id that does not exist."""


class InvalidValueError(StoreError, ValueError):
    """An argument the store refuses: an unknown role, status or stat field, a foreign parent."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer ChatDesk; it is left untouched."""


class MigrationError(StoreError):
    """A schema migration failed; its changes were rolled back."""


class DatabaseFileError(StoreError):
    """The database file cannot be opened: not SQLite, corrupt, or not readable."""


class ReadOnlyError(StoreError):
    """A write to a database (or data folder) that is read-only."""


class StoreBusyError(StoreError):
    """Another process held the database's write lock for longer than the store waits."""


class DiskFullError(StoreError):
    """The disk holding the database is full: nothing more can be written for now."""
