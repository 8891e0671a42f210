"""Reads and writes of the document index (``documents.db``, see ``index_db``).

``DocumentIndex`` is the one place that knows the index's tables: collections and their
sources, file records, replacing one file's chunks and vectors atomically, keyword search
with FTS5, and the vectors of a collection. It is thread-safe: one connection, one lock,
and every write in an explicit transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chatdesk.docs.chunking import Chunk
from chatdesk.docs.index_db import Transaction, open_index
from chatdesk.docs.records import ChunkHit, Collection, CollectionSummary, FileRecord

FILE_COLUMNS = "id, path, size, mtime_ns, sha256, state, error, pages, chunks"
CHUNK_COLUMNS = "c.id, f.path, c.page, c.line_start, c.line_end, c.char_start, c.char_end, c.text"


AT_OR_UNDER = "(path = ? OR substr(path, 1, ?) = ?)"  # with ``at_or_under(path)``


def at_or_under(path: Path) -> list[object]:
    """The parameters of ``AT_OR_UNDER``: the path itself, or anything in its folder."""
    prefix = str(path).rstrip("/\\") + "/"
    return [str(path), len(prefix), prefix]


class UnknownCollection(KeyError):
    """No collection of that name."""

    def __str__(self) -> str:
        return f"no document collection named {self.args[0]!r}"


class DocumentIndex:
    """The document index of one data root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = open_index(path)
        self.lock = threading.RLock()

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()

    def transaction(self) -> Transaction:
        """A write transaction (BEGIN IMMEDIATE) holding the index's lock."""
        return Transaction(self.conn, self.lock)

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self.lock:
            return list(self.conn.execute(sql, params).fetchall())

    # -- collections ----------------------------------------------------------------------

    def collection(self, name: str) -> Collection:
        """The collection called ``name``; UnknownCollection if there is none."""
        rows = self._rows(
            "SELECT id, name, embedding_model FROM collections WHERE name = ?", [name]
        )
        if not rows:
            raise UnknownCollection(name)
        ident, found, model = rows[0]
        return Collection(int(ident), str(found), None if model is None else str(model))

    def ensure_collection(self, name: str, embedding_model: str | None) -> Collection:
        """The collection, created if new; a new embedding model replaces the old vectors."""
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO collections (name) VALUES (?)", [name])
            row = conn.execute(
                "SELECT id, embedding_model FROM collections WHERE name = ?", [name]
            ).fetchone()
            if embedding_model is not None and row[1] != embedding_model:
                conn.execute(
                    "UPDATE collections SET embedding_model = ? WHERE id = ?",
                    [embedding_model, row[0]],
                )
                conn.execute(
                    "DELETE FROM vectors WHERE chunk_id IN (SELECT c.id FROM chunks c "
                    "JOIN files f ON f.id = c.file_id WHERE f.collection_id = ?)",
                    [row[0]],
                )
                bump_vectors_version(conn)
        return self.collection(name)

    def collection_names(self) -> list[str]:
        """Every collection's name, sorted."""
        return [str(row[0]) for row in self._rows("SELECT name FROM collections ORDER BY name")]

    def summary(self, name: str) -> CollectionSummary:
        """A collection's sources and counts."""
        collection = self.collection(name)
        sources = tuple(
            str(r[0])
            for r in self._rows(
                "SELECT path FROM sources WHERE collection_id = ? ORDER BY path", [collection.id]
            )
        )
        counts = self._rows(
            "SELECT count(*), count(*) FILTER (WHERE state = 'indexed'), "
            "count(*) FILTER (WHERE state = 'failed'), coalesce(sum(pages), 0), "
            "coalesce(sum(chunks), 0) FROM files WHERE collection_id = ?",
            [collection.id],
        )[0]
        vectors = self._rows(
            "SELECT count(*) FROM vectors v JOIN chunks c ON c.id = v.chunk_id "
            "JOIN files f ON f.id = c.file_id WHERE f.collection_id = ?",
            [collection.id],
        )[0][0]
        files, indexed, failed, pages, chunks = (int(value) for value in counts)
        return CollectionSummary(
            name,
            sources,
            files,
            indexed,
            failed,
            pages,
            chunks,
            int(vectors),
            collection.embedding_model,
        )

    def remove_collection(self, name: str) -> None:
        """Forget a collection, its files, chunks and vectors (the files themselves stay)."""
        collection = self.collection(name)
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM chunks WHERE file_id IN "
                "(SELECT id FROM files WHERE collection_id = ?)",
                [collection.id],
            )
            conn.execute("DELETE FROM collections WHERE id = ?", [collection.id])
            bump_vectors_version(conn)

    # -- sources --------------------------------------------------------------------------

    def add_source(self, collection: Collection, path: Path) -> None:
        """Remember a file or folder of the collection (watched and re-scanned); added
        again by hand, what was excluded at or under it is back in."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO sources (collection_id, path) VALUES (?, ?)",
                [collection.id, str(path)],
            )
            conn.execute(
                f"DELETE FROM excluded WHERE collection_id = ? AND {AT_OR_UNDER}",
                [collection.id, *at_or_under(path)],
            )

    def sources(self, collection: Collection) -> list[Path]:
        """The collection's files and folders as added."""
        return self._paths("sources", collection)

    def excluded(self, collection: Collection) -> list[Path]:
        """The files and folders removed from inside its folders (left out of scans)."""
        return self._paths("excluded", collection)

    def _paths(self, table: str, collection: Collection) -> list[Path]:
        rows = self._rows(
            f"SELECT path FROM {table} WHERE collection_id = ? ORDER BY path", [collection.id]
        )
        return [Path(str(row[0])) for row in rows]

    def remove_path(self, collection: Collection, path: Path) -> int:
        """Forget a source and every indexed file at or under ``path``; how many files.
        Inside a folder that stays a source, ``path`` is excluded from its next scans."""
        where = f"collection_id = ? AND {AT_OR_UNDER}"
        params = [collection.id, *at_or_under(path)]
        with self.transaction() as conn:
            conn.execute(f"DELETE FROM sources WHERE {where}", params)
            folders = [Path(str(row[0])) for row in conn.execute(
                "SELECT path FROM sources WHERE collection_id = ?", [collection.id]
            )]  # fmt: skip
            if any(folder in path.parents for folder in folders):  # not the folder itself
                conn.execute(
                    "INSERT OR IGNORE INTO excluded (collection_id, path) VALUES (?, ?)",
                    [collection.id, str(path)],
                )
            ids = [row[0] for row in conn.execute(f"SELECT id FROM files WHERE {where}", params)]
            for file_id in ids:
                delete_file(conn, file_id)
            bump_vectors_version(conn)
        return len(ids)

    # -- files ----------------------------------------------------------------------------

    def file_record(self, collection: Collection, path: Path) -> FileRecord | None:
        """What the index knows of ``path`` in the collection, or None."""
        rows = self._rows(
            f"SELECT {FILE_COLUMNS} FROM files WHERE collection_id = ? AND path = ?",
            [collection.id, str(path)],
        )
        return file_record(rows[0]) if rows else None

    def files(self, collection: Collection) -> list[FileRecord]:
        """Every file record of the collection, by path."""
        rows = self._rows(
            f"SELECT {FILE_COLUMNS} FROM files WHERE collection_id = ? ORDER BY path",
            [collection.id],
        )
        return [file_record(row) for row in rows]

    def forget_files(self, collection: Collection, paths: Iterable[str]) -> None:
        """Drop the records (and chunks) of files that no longer exist."""
        with self.transaction() as conn:
            for path in paths:
                row = conn.execute(
                    "SELECT id FROM files WHERE collection_id = ? AND path = ?",
                    [collection.id, path],
                ).fetchone()
                if row is not None:
                    delete_file(conn, int(row[0]))
            bump_vectors_version(conn)

    def set_stat(self, file_id: int, size: int, mtime_ns: int) -> None:
        """Record a new size/mtime of a file whose content (hash) did not change."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", [size, mtime_ns, file_id]
            )

    def record_failure(
        self, collection: Collection, path: Path, stat: tuple[int, int] | None, reason: str
    ) -> None:
        """Mark a file as failed with its reason (its old chunks go: they are stale)."""
        size, mtime = stat if stat is not None else (None, None)
        with self.transaction() as conn:
            file_id = upsert_file(conn, collection.id, path)
            delete_chunks(conn, file_id)
            conn.execute(
                "UPDATE files SET size = ?, mtime_ns = ?, sha256 = NULL, state = 'failed', "
                "error = ?, pages = 0, chunks = 0, indexed_at = NULL WHERE id = ?",
                [size, mtime, reason, file_id],
            )

    def chunks_without_vectors(self, file_id: int) -> list[tuple[int, str]]:
        """(chunk id, text) of a file's chunks that have no vector yet."""
        rows = self._rows(
            "SELECT c.id, c.text FROM chunks c LEFT JOIN vectors v "
            "ON v.chunk_id = c.id WHERE c.file_id = ? AND v.chunk_id IS NULL "
            "ORDER BY c.ordinal",
            [file_id],
        )
        return [(int(ident), str(text)) for ident, text in rows]

    # -- search ---------------------------------------------------------------------------

    def chunk_hits(self, scored: Sequence[tuple[int, float]]) -> list[ChunkHit]:
        """ChunkHits for (chunk id, score) pairs, in the given order."""
        if not scored:
            return []
        marks = ",".join("?" * len(scored))
        rows = self._rows(
            f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN files f "
            f"ON f.id = c.file_id WHERE c.id IN ({marks})",
            [i for i, _ in scored],
        )
        by_id = {int(row[0]): row for row in rows}
        return [chunk_hit(by_id[i], score) for i, score in scored if i in by_id]

    def document_chunks(self, collections: Sequence[Collection], limit: int) -> list[ChunkHit]:
        """Every chunk of the collections in document order (at most ``limit``)."""
        marks = ",".join("?" * len(collections))
        rows = self._rows(
            f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id "
            f"WHERE f.collection_id IN ({marks}) ORDER BY f.path, c.ordinal LIMIT ?",
            [*(c.id for c in collections), limit],
        )
        return [chunk_hit(row, 0.0) for row in rows]

    def text_size(
        self,
        collections: Sequence[Collection],
        limit: int,
        measure: Callable[[str], int] = len,
        per_chunk: int = 0,
    ) -> int:
        """The size of the text in the collections' chunks (overlap included) by
        ``measure``, with ``per_chunk`` more for each, read only until the sum passes
        ``limit`` (then a sum past it, however large the collections)."""
        marks = ",".join("?" * len(collections))
        total = 0
        with self.lock:
            texts = self.conn.execute(
                f"SELECT c.text FROM chunks c JOIN files f ON f.id = c.file_id "
                f"WHERE f.collection_id IN ({marks})",
                [c.id for c in collections],
            )
            for (text,) in texts:
                total += measure(text) + per_chunk
                if total > limit:
                    break
        return total

    def index_id(self) -> str:
        """A random id given to this index file when it was created."""
        return str(self._rows("SELECT value FROM meta WHERE key = 'index_id'")[0][0])

    def vectors_version(self) -> int:
        """Changes whenever any vector is written or deleted."""
        return int(self._rows("SELECT value FROM meta WHERE key = 'vectors_version'")[0][0])

    def load_vectors(self, collection: Collection) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, float32 matrix) of the collection's vectors, rows L2-normalised."""
        with self.lock:
            cursor = self.conn.execute(
                "SELECT v.chunk_id, v.vector FROM vectors v JOIN chunks c ON c.id = v.chunk_id "
                "JOIN files f ON f.id = c.file_id WHERE f.collection_id = ? ORDER BY v.chunk_id",
                [collection.id],
            )
            rows = cursor.fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
        return ids, matrix.reshape(len(rows), -1)


def bump_vectors_version(conn: sqlite3.Connection) -> None:
    """Tell in-memory vector matrices that they are out of date."""
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'vectors_version'")


def upsert_file(conn: sqlite3.Connection, collection_id: int, path: Path) -> int:
    """The file's row id, inserting a pending row if it is new."""
    conn.execute(
        "INSERT OR IGNORE INTO files (collection_id, path, state) VALUES (?, ?, 'pending')",
        [collection_id, str(path)],
    )
    row = conn.execute(
        "SELECT id FROM files WHERE collection_id = ? AND path = ?", [collection_id, str(path)]
    ).fetchone()
    return int(row[0])


def delete_chunks(conn: sqlite3.Connection, file_id: int) -> None:
    """Remove a file's chunks (their FTS rows and vectors go with them)."""
    conn.execute(
        "DELETE FROM vectors WHERE chunk_id IN (SELECT id FROM chunks WHERE file_id = ?)", [file_id]
    )
    conn.execute("DELETE FROM chunks WHERE file_id = ?", [file_id])


def delete_file(conn: sqlite3.Connection, file_id: int) -> None:
    """Remove a file record with its chunks."""
    delete_chunks(conn, file_id)
    conn.execute("DELETE FROM files WHERE id = ?", [file_id])


def insert_chunks(
    conn: sqlite3.Connection, file_id: int, first: int, chunks: Sequence[Chunk]
) -> list[int]:
    """Insert chunks numbered from ``first``; their row ids."""
    ids = []
    for ordinal, chunk in enumerate(chunks, start=first):
        cursor = conn.execute(
            "INSERT INTO chunks (file_id, ordinal, page, line_start, line_end, char_start, "
            "char_end, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                file_id,
                ordinal,
                chunk.page,
                chunk.line_start,
                chunk.line_end,
                chunk.char_start,
                chunk.char_end,
                chunk.text,
            ],
        )
        ids.append(int(cursor.lastrowid or 0))
    return ids


def insert_vectors(conn: sqlite3.Connection, ids: Sequence[int], matrix: np.ndarray) -> None:
    """Store one float32 vector per chunk id."""
    rows = np.ascontiguousarray(matrix, dtype=np.float32)
    conn.executemany(
        "INSERT OR REPLACE INTO vectors (chunk_id, vector) VALUES (?, ?)",
        [(ident, rows[i].tobytes()) for i, ident in enumerate(ids)],
    )


def file_record(row: Sequence[Any]) -> FileRecord:
    """A FileRecord from a row of FILE_COLUMNS."""
    ident, path, size, mtime, sha, state, error, pages, chunks = row
    return FileRecord(
        int(ident),
        str(path),
        None if size is None else int(size),
        None if mtime is None else int(mtime),
        None if sha is None else str(sha),
        str(state),
        None if error is None else str(error),
        int(pages),
        int(chunks),
    )


def chunk_hit(row: Sequence[Any], score: float) -> ChunkHit:
    """A ChunkHit from a row of CHUNK_COLUMNS."""
    ident, path, page, line_start, line_end, char_start, char_end, text = row
    return ChunkHit(
        int(ident),
        str(path),
        None if page is None else int(page),
        int(line_start),
        int(line_end),
        int(char_start),
        int(char_end),
        str(text),
        score,
    )
