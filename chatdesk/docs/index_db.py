"""The document index: its own SQLite file, ``documents.db`` under the data root.

Why not a migration of ``chatdesk.db``: the main database is copied aside before every
migration, and an index of a few thousand PDFs is hundreds of megabytes of chunk text,
full-text index and vectors, so every future upgrade would copy it; it is also rebuilt
from the user's files at any time, so it needs no backup, and a busy indexer writing in
its own file never makes the chat's writes wait on the same lock. What must outlive the
index (the passages a reply cited) is stored with the reply in ``chatdesk.db``.

Tables: ``collections`` (name, embedding model), ``sources`` (the files and folders added,
watched for changes), ``excluded`` (files and folders removed from inside a folder source,
so that the next scan of the folder leaves them out; an older ChatDesk ignores the table),
``files`` (one per indexed file: size, mtime, SHA-256, state and the
reason it failed), ``chunks`` (text and provenance), ``chunks_fts`` (FTS5 over chunk text,
external content, the store's tokenizer: unicode61 without diacritics; the triggers index
the text with each Chinese, Japanese or Korean character spaced out, see
``chatdesk.store.unspaced``) and ``vectors`` (one float32 blob per chunk). A file's chunks
and vectors are replaced in one transaction, so a crash leaves each file either wholly old
or wholly new: that is what makes indexing resumable. ``meta.vectors_version`` changes
with every write of vectors so the in-memory vector matrix knows when to reload.

Version 2 (``upgrade_to_spaced``): an index of version 1 gets the new triggers and its
full-text index is filled again from the chunks, once, when it is first opened.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path

from chatdesk.store.schema import TOKENIZER
from chatdesk.store.unspaced import SPACED_FUNCTION, register

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 10000

TRIGGERS = (
    f"""CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, text) VALUES (new.id, {SPACED_FUNCTION}(new.text));
END;""",
    f"""CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, text)
    VALUES ('delete', old.id, {SPACED_FUNCTION}(old.text));
END;""",
)
TRIGGER_SQL = "\n".join(TRIGGERS)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    embedding_model TEXT
);
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    UNIQUE (collection_id, path)
);
CREATE TABLE IF NOT EXISTS excluded (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    UNIQUE (collection_id, path)
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    sha256 TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'indexed', 'failed')),
    error TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    indexed_at TEXT,
    UNIQUE (collection_id, path)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    page INTEGER,
    line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_file ON chunks (file_id, ordinal);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='{TOKENIZER}');
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, 'row');
{TRIGGER_SQL}
CREATE TABLE IF NOT EXISTS vectors (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    vector BLOB NOT NULL
);
"""


class IndexDatabaseError(Exception):
    """The index file cannot be opened (unreadable, or written by a newer ChatDesk)."""


def documents_db_path(root: Path) -> Path:
    """Where the index lives under a data root."""
    return root / "documents.db"


def open_index(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the index; autocommit, WAL, foreign keys on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        register(conn)
        version = check_version(conn, path)
        conn.executescript(SCHEMA)
        if version == 1:
            upgrade_to_spaced(conn)
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('vectors_version', '0')")
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('index_id', ?)", [uuid.uuid4().hex])
    except sqlite3.Error as error:
        raise IndexDatabaseError(f"cannot open the document index {path}: {error}") from error
    return conn


def check_version(conn: sqlite3.Connection, path: Path) -> int | None:
    """The index's version (None: a new file); refuse one written by a newer ChatDesk
    (its tables may mean something else)."""
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
    if not has_meta:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is not None and int(row[0]) > SCHEMA_VERSION:
        raise IndexDatabaseError(
            f"{path} was written by a newer ChatDesk (index version {row[0]}); "
            "update ChatDesk or delete the file to rebuild the index"
        )
    return int(row[0]) if row is not None else None


def upgrade_to_spaced(conn: sqlite3.Connection) -> None:
    """Version 1 to 2, in one transaction: the triggers that space out Chinese, Japanese
    and Korean characters, and the full-text index filled again from the chunks that way."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DROP TRIGGER chunks_fts_insert")
        conn.execute("DROP TRIGGER chunks_fts_delete")
        for statement in TRIGGERS:
            conn.execute(statement)
        conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('delete-all')")
        conn.execute(
            f"INSERT INTO chunks_fts (rowid, text) SELECT id, {SPACED_FUNCTION}(text) FROM chunks"
        )
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class Transaction:
    """``with Transaction(conn, lock):`` BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self.conn = conn
        self.lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.conn

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        try:
            self.conn.execute("ROLLBACK" if kind is not None else "COMMIT")
        finally:
            self.lock.release()
