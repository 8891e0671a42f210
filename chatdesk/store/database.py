"""Opening the database file: version check, backup, WAL, foreign keys, migrations.

Order matters. Nothing is written until the schema is known to be one this ChatDesk
understands; an existing database with pending migrations is copied aside first
(``chatdesk.db.bak-v<applied>-<UTC time>``) with SQLite's online backup.

Durability: WAL with ``synchronous = NORMAL``. Every committed write (each streamed
chunk included) survives the app crashing or being killed; a power cut can lose the
last moments of writes but never corrupts the file. Busy waits up to 5 s let the window
and a ``chatdesk`` command share the database.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from chatdesk.store.errors import (
    DatabaseFileError,
    DiskFullError,
    MigrationError,
    ReadOnlyError,
    SchemaTooNewError,
)
from chatdesk.store.schema import MIGRATIONS, known_migration_names
from chatdesk.store.unspaced import register

BUSY_TIMEOUT_MS = 5000
log = logging.getLogger("chatdesk.store")


def connect(path: Path) -> Database:
    """A sqlite-utils Database in autocommit mode: transactions are always explicit."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    register(conn)  # the search triggers index Chinese, Japanese, Korean characters apart
    return Database(conn, execute_plugins=False)


def applied_migration_names(db: Database, migrations: Migrations) -> list[str]:
    """Names of the migrations already applied to this database (read-only)."""
    return [migration.name for migration in migrations.applied(db)]


def check_not_too_new(db: Database, path: Path, migrations: Migrations) -> None:
    """Refuse a database that holds migrations this ChatDesk does not know."""
    known = set(known_migration_names(migrations))
    unknown = [name for name in applied_migration_names(db, migrations) if name not in known]
    user_version = db.execute("PRAGMA user_version").fetchone()[0]
    if unknown or user_version > len(known):
        detail = ", ".join(unknown) if unknown else f"schema version {user_version}"
        raise SchemaTooNewError(
            f"{path} was written by a newer version of ChatDesk ({detail}); "
            "update ChatDesk to open it. The file was not changed."
        )


def has_tables(db: Database) -> bool:
    """Whether the database holds anything at all (a brand-new file does not)."""
    row = db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return bool(row[0])


def backup_path(path: Path, applied: int) -> Path:
    """Where the pre-migration copy of ``path`` goes; never an existing file."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return path.with_name(f"{path.name}.bak-v{applied}-{stamp}")


def back_up(db: Database, path: Path, applied: int) -> Path:
    """Copy the database aside with SQLite's backup API (consistent even mid-WAL)."""
    target = backup_path(path, applied)
    try:
        copy = sqlite3.connect(str(target))
        try:
            db.conn.backup(copy)
        finally:
            copy.close()
    except (sqlite3.Error, OSError) as error:
        target.unlink(missing_ok=True)
        raise DatabaseFileError(
            f"cannot copy {path} aside to {target} before upgrading it: {error}; "
            "the database was not changed"
        ) from error
    return target


def apply_migrations(db: Database, migrations: Migrations) -> None:
    """Apply pending migrations; a failure rolls back that migration and raises MigrationError."""
    pending = [migration.name for migration in migrations.pending(db)]
    if pending:
        log.info("applying migrations: %s", ", ".join(pending))
    try:
        migrations.apply(db)
    except Exception as error:
        if db.conn.in_transaction or migrations.pending(db):
            log.exception("migration failed and was rolled back")
            raise MigrationError(
                f"database migration failed and was rolled back: {error}"
            ) from error
        # another ChatDesk process (say the window and a command) migrated it meanwhile
    finally:
        if not db.conn.in_transaction:
            record_schema_version(db, len(applied_migration_names(db, migrations)))


def record_schema_version(db: Database, applied: int) -> None:
    """Keep ``PRAGMA user_version`` equal to the number of applied migrations."""
    if db.execute("PRAGMA user_version").fetchone()[0] != applied:
        db.execute(f"PRAGMA user_version = {int(applied)}")


def prepare(db: Database, path: Path, migrations: Migrations) -> Path | None:
    """Check, back up, switch to WAL and migrate; returns the backup's path if one was made."""
    check_not_too_new(db, path, migrations)
    backup = None
    if migrations.pending(db) and has_tables(db):
        backup = back_up(db, path, len(applied_migration_names(db, migrations)))
        log.info("database copied aside to %s before migrating", backup)
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")
    apply_migrations(db, migrations)
    return backup


def no_space_left(folder: Path) -> bool:
    """Whether the file system holding ``folder`` has (almost) no free space left."""
    try:
        info = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
    return info.f_bavail * info.f_frsize < 64 * 1024


def writable(path: Path) -> bool:
    """Whether ChatDesk may write the database file and its folder (WAL needs both)."""
    folder = path.parent if path.parent.exists() else path.parent.parent
    return (not path.exists() or os.access(path, os.W_OK)) and os.access(folder, os.W_OK)


def open_read_only(path: Path, migrations: Migrations) -> Database:
    """A database in a read-only place, for reading: nothing is migrated or written."""
    uri = path.resolve().as_uri()
    try:
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:  # a WAL database without its -shm file
            conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)
        conn.isolation_level = None
        register(conn)  # a refused write must still prepare its triggers
        db = Database(conn, execute_plugins=False)
        check_not_too_new(db, path, migrations)
        pending = [m.name for m in migrations.pending(db)]
    except sqlite3.DatabaseError as error:
        raise DatabaseFileError(f"cannot use database {path} (read-only): {error}") from error
    if pending:
        db.close()
        raise ReadOnlyError(
            f"{path} is read-only and this version of ChatDesk must upgrade it first; "
            "make the file and its folder writable once"
        )
    return db


def open_database(path: Path, migrations: Migrations = MIGRATIONS) -> tuple[Database, Path | None]:
    """Open (creating if needed) and migrate the database at ``path``; a database in a
    read-only place opens read-only (reading works, writing raises ReadOnlyError)."""
    if path.exists() and not writable(path):
        return open_read_only(path, migrations), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = connect(path)
    except (sqlite3.Error, OSError) as error:
        raise DatabaseFileError(f"cannot open database {path}: {error}") from error
    try:
        backup = prepare(db, path, migrations)
    except sqlite3.DatabaseError as error:
        db.close()
        if no_space_left(path.parent):  # SQLite says "disk I/O error" when WAL files cannot grow
            raise DiskFullError(
                f"the disk is full: cannot open {path} (free some space on it)"
            ) from error
        raise DatabaseFileError(f"cannot use database {path}: {error}") from error
    except BaseException:
        db.close()
        raise
    return db, backup
