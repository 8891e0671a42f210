"""Indexing a collection: incremental, resumable, cancellable, with progress.

For each file of the collection's sources (see ``discovery``):

- unchanged size and mtime since it was indexed: skipped (only vectors missing because
  the collection got an embedding model since are computed);
- changed size or mtime but the same SHA-256: only the new stat is recorded;
- otherwise the file is extracted, chunked and embedded in batches of ``BATCH`` chunks,
  and its old chunks are replaced by the new ones in one transaction.

Because each file is committed whole, a crash, a kill or a quit loses at most the file
being indexed: the next run skips every file already done and carries on (resumable).
Cancelling stops between batches and rolls back the current file. A file that cannot be
read is recorded with its reason and the run goes on, whatever the reason (a link loop, a
FIFO, a decompression bomb, a parser crash): every file is its own unit. A file whose name
is not valid UTF-8 cannot be a database row; it is listed with that reason, not recorded.
PDF and DOCX are read by an ``ExtractWorker`` process with memory and time limits, one per
run. A failing embedding model stops the run (every later file would fail the same way).
Memory stays bounded: one page or a few hundred lines of text and one batch of chunks and
vectors at a time.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from chatdesk.docs.chunking import Chunk, chunk_sections
from chatdesk.docs.discovery import FileStat, discover, display, file_sha256, stat_of, storable
from chatdesk.docs.embedder import Embedder
from chatdesk.docs.extract import check_size, extract
from chatdesk.docs.extract_types import ExtractionError
from chatdesk.docs.extract_worker import ExtractWorker
from chatdesk.docs.index import (
    DocumentIndex,
    bump_vectors_version,
    delete_chunks,
    insert_chunks,
    insert_vectors,
    upsert_file,
)
from chatdesk.docs.progress import IndexProgress, ProgressCallback
from chatdesk.docs.records import Collection, FileRecord

BATCH = 32
PROGRESS_INTERVAL = 0.1  # seconds between progress callbacks within a file


class IndexCancelled(Exception):
    """The run was cancelled; the file in progress was rolled back."""


@dataclass
class IndexReport:
    """The outcome of a run: its last progress and the files that failed, with reasons."""

    progress: IndexProgress
    failures: list[tuple[str, str]] = field(default_factory=list)


class Indexer:
    """Indexes collections of one ``DocumentIndex``; one run at a time per instance."""

    def __init__(
        self,
        index: DocumentIndex,
        embedder: Embedder | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.cancel = cancel or threading.Event()
        self.worker: ExtractWorker | None = None

    def run(
        self, collection: Collection, on_progress: ProgressCallback | None = None
    ) -> IndexReport:
        """Bring the collection's index up to date with its files."""
        files = discover(self.index.sources(collection), self.index.excluded(collection))
        self._forget_missing(collection, files)
        progress = IndexProgress(collection.name, files_total=len(files))
        progress.bytes_total = sum((s.size if (s := stat_of(p)) else 0) for p in files)
        report = IndexReport(progress)
        notify = Throttle(on_progress)
        try:
            with ExtractWorker() as self.worker:
                self._all_files(collection, files, report, notify)
        except IndexCancelled:
            progress.cancelled = True
        progress.current, progress.finished = None, True
        notify(progress, force=True)
        return report

    def _all_files(
        self, collection: Collection, files: list[Path], report: IndexReport, notify: Throttle
    ) -> None:
        progress = report.progress
        for path in files:
            if self.cancel.is_set():
                raise IndexCancelled
            progress.current = display(path)
            if storable(path):
                self._one_file(collection, path, report, notify)
            else:
                progress.files_failed += 1
                report.failures.append((display(path), "the file name is not valid UTF-8"))
            progress.files_done += 1
            notify(progress, force=True)  # every finished file is reported

    def _forget_missing(self, collection: Collection, files: list[Path]) -> None:
        present = {str(path) for path in files if storable(path)}
        gone = [r.path for r in self.index.files(collection) if r.path not in present]
        if gone:
            self.index.forget_files(collection, gone)

    def _one_file(
        self, collection: Collection, path: Path, report: IndexReport, notify: Throttle
    ) -> None:
        progress = report.progress
        stat = stat_of(path)
        record = self.index.file_record(collection, path)
        try:
            if stat is None:
                check_size(path)  # raises with the reason (a link loop, no permission...)
                raise ExtractionError("cannot read the file")
            check_size(path)
            if not self._changed(record, stat, path):
                assert record is not None
                self._skip(record, report)
            else:
                self._index_file(collection, path, stat, notify, progress)
        except ExtractionError as error:
            self.index.record_failure(
                collection, path, (stat.size, stat.mtime_ns) if stat else None, str(error)
            )
            progress.files_failed += 1
            report.failures.append((str(path), str(error)))
        progress.bytes_done += stat.size if stat else 0

    def _changed(self, record: FileRecord | None, stat: FileStat, path: Path) -> bool:
        if record is None or record.state == "pending":
            return True
        if (record.size, record.mtime_ns) == (stat.size, stat.mtime_ns):
            return False
        if record.state == "indexed" and record.sha256 == safe_sha256(path):
            self.index.set_stat(record.id, stat.size, stat.mtime_ns)
            return False
        return True

    def _skip(self, record: FileRecord, report: IndexReport) -> None:
        progress = report.progress
        progress.files_skipped += 1
        if record.state == "failed":
            progress.files_failed += 1
            report.failures.append((record.path, record.error or "failed"))
        elif self.embedder is not None:
            self._embed_missing(record.id)

    def _index_file(
        self,
        collection: Collection,
        path: Path,
        stat: FileStat,
        notify: Throttle,
        progress: IndexProgress,
    ) -> None:
        digest = safe_sha256(path)
        with self.index.transaction() as conn:
            file_id = upsert_file(conn, collection.id, path)
            delete_chunks(conn, file_id)
            count, pages = self._write_chunks(conn, file_id, path, notify, progress)
            mark_indexed(conn, file_id, stat, digest, pages=max(pages, 1), chunks=count)
        if not pages:
            progress.pages += 1

    def _write_chunks(
        self,
        conn: sqlite3.Connection,
        file_id: int,
        path: Path,
        notify: Throttle,
        progress: IndexProgress,
    ) -> tuple[int, int]:
        """Extract, chunk and embed the file batch by batch; (chunks, pages) written."""
        count, pages = 0, set[int | None]()
        for batch in batches(chunk_sections(extract(path, worker=self.worker))):
            if self.cancel.is_set():
                raise IndexCancelled
            ids = insert_chunks(conn, file_id, count, batch)
            if self.embedder is not None:
                insert_vectors(conn, ids, self.embedder.embed_documents([c.text for c in batch]))
            new_pages = {c.page for c in batch} - pages
            pages |= new_pages
            count += len(batch)
            progress.chunks += len(batch)
            progress.pages += len(new_pages)
            notify(progress)
        return count, len(pages)

    def _embed_missing(self, file_id: int) -> None:
        assert self.embedder is not None
        missing = self.index.chunks_without_vectors(file_id)
        for start in range(0, len(missing), BATCH):
            if self.cancel.is_set():
                raise IndexCancelled
            part = missing[start : start + BATCH]
            vectors = self.embedder.embed_documents([text for _, text in part])
            with self.index.transaction() as conn:
                insert_vectors(conn, [ident for ident, _ in part], vectors)
                bump_vectors_version(conn)


def mark_indexed(
    conn: sqlite3.Connection, file_id: int, stat: FileStat, digest: str, *, pages: int, chunks: int
) -> None:
    """Record a file as indexed with what it was when read."""
    conn.execute(
        "UPDATE files SET size = ?, mtime_ns = ?, sha256 = ?, state = 'indexed', error = NULL, "
        "pages = ?, chunks = ?, indexed_at = ? WHERE id = ?",
        [stat.size, stat.mtime_ns, digest, pages, chunks, datetime.now(UTC).isoformat(), file_id],
    )
    bump_vectors_version(conn)


def safe_sha256(path: Path) -> str:
    """The file's SHA-256, or ExtractionError when it cannot be read."""
    try:
        return file_sha256(path)
    except OSError as error:
        raise ExtractionError(f"cannot read: {error.strerror or error}") from None


def batches(chunks: Iterator[Chunk], size: int = BATCH) -> Iterator[list[Chunk]]:
    """Lists of at most ``size`` chunks."""
    while batch := list(islice(chunks, size)):
        yield batch


class Throttle:
    """Calls the progress callback with a snapshot: within a file at most every
    PROGRESS_INTERVAL seconds, and after each file (``force``)."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.last = 0.0

    def __call__(self, progress: IndexProgress, force: bool = False) -> None:
        if self.callback is None:
            return
        now = progress.elapsed
        if force or now - self.last >= PROGRESS_INTERVAL:
            self.last = now
            self.callback(progress.snapshot())
