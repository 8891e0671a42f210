"""The documents service: collections, indexing, search and prompt context, with no Qt.

The one implementation behind ``chatdesk docs ...``, ``chatdesk ask --docs`` and the
window. Indexing runs either in the caller's thread (``index``: the command line, with a
progress bar) or in a background thread (``start_indexing``: the window), one run at a
time; callbacks are called on the indexing thread, so a GUI marshals them to its own.
Embeddings come from the collection's embedding GGUF in the engine host (the client is
created on first need, or shared with the chat when given); a collection without one is
searched by keywords only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from chatdesk import paths
from chatdesk.docs.citations import cited, file_url, snippet
from chatdesk.docs.context import (
    DocumentContext,
    Passage,
    TokenCount,
    build_context,
    estimated_tokens,
    passage_tokens,
)
from chatdesk.docs.discovery import display, storable
from chatdesk.docs.embedder import Embedder, EmbeddingFailed, EngineEmbedder
from chatdesk.docs.index import DocumentIndex, UnknownCollection
from chatdesk.docs.index_db import IndexDatabaseError, documents_db_path
from chatdesk.docs.indexer import Indexer, IndexReport
from chatdesk.docs.progress import IndexProgress, ProgressCallback, describe
from chatdesk.docs.records import ChunkHit, Collection, CollectionSummary, FileRecord
from chatdesk.docs.retrieval import Retriever
from chatdesk.docs.watch import FolderPoller
from chatdesk.engine.client import EngineClient

ReportCallback = Callable[[IndexReport | None, str | None], None]

log = logging.getLogger(__name__)


def absolute(path: Path) -> Path:
    """The path resolved, or only made absolute when it cannot be (a symbolic link loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


__all__ = [  # what the window needs, so it imports services only
    "DocumentService",
    "DocumentsError",
    "IndexJob",
    "IndexProgress",
    "IndexReport",
    "Passage",
    "cited",
    "describe",
    "file_url",
    "snippet",
]

WARM_JOIN_S = 30  # reading 100,000 vectors from SQLite takes about 3 s


class DocumentsError(Exception):
    """A user-facing failure: one line saying what went wrong (nothing was lost)."""


class IndexJob:
    """A background indexing run: ``cancel()`` it, ``wait()`` for its report."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.cancel_event = threading.Event()
        self.report: IndexReport | None = None
        self.error: str | None = None
        self.thread: threading.Thread | None = None

    def cancel(self) -> None:
        """Stop after the current batch; the file in progress is rolled back."""
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> IndexReport | None:
        """Block until the run ends; its report (None if it failed: see ``error``)."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.report


class DocumentService:
    """Collections of the user's files under one data root."""

    def __init__(self, root: Path | None = None, engine: EngineClient | None = None) -> None:
        try:
            self.index = DocumentIndex(documents_db_path(root or paths.ensure_data_root()))
        except IndexDatabaseError as error:
            raise DocumentsError(str(error)) from None
        self._engine = engine
        self._owns_engine = engine is None
        self._run_lock = threading.Lock()
        self.retriever = Retriever(self.index, self.embedder_for)
        self.watcher: FolderPoller | None = None
        self._warming: list[threading.Thread] = []
        self._on_watch_done: ReportCallback | None = None

    # -- engine ---------------------------------------------------------------------------

    def engine(self) -> EngineClient:
        """The engine client embeddings go through (started on first use)."""
        if self._engine is None:
            self._engine = EngineClient()
        return self._engine

    def embedder_for(self, collection: Collection) -> Embedder | None:
        """The embedder of a collection's vectors, or None for keywords only."""
        if collection.embedding_model is None:
            return None
        return EngineEmbedder(self.engine(), collection.embedding_model)

    # -- collections ----------------------------------------------------------------------

    def collection(self, name: str) -> Collection:
        """The named collection, or DocumentsError."""
        try:
            return self.index.collection(name)
        except UnknownCollection as error:
            raise DocumentsError(str(error)) from None

    def add(
        self, sources: Sequence[Path], collection: str, embedding_model: Path | None = None
    ) -> Collection:
        """Add files and folders to a collection (created if new); index with ``index``."""
        if not collection.strip():
            raise DocumentsError("a collection needs a name")
        missing = [display(path) for path in sources if not os.path.lexists(path)]
        if missing:
            raise DocumentsError(f"no such file or folder: {missing[0]}")
        unnamed = [display(path) for path in sources if not storable(path)]
        if unnamed:
            raise DocumentsError(f"the file name is not valid UTF-8: {unnamed[0]}")
        if embedding_model is not None and not embedding_model.is_file():
            raise DocumentsError(f"no embedding model file at {embedding_model}")
        model = str(embedding_model.resolve()) if embedding_model else None
        found = self.index.ensure_collection(collection.strip(), model)
        for source in sources:
            self.index.add_source(found, absolute(source))
        return found

    def collections(self) -> list[CollectionSummary]:
        """Every collection with its counts."""
        return [self.index.summary(name) for name in self.index.collection_names()]

    def failed_files(self, collection: str) -> list[FileRecord]:
        """The collection's files that could not be indexed, with their reasons."""
        return [r for r in self.index.files(self.collection(collection)) if r.state == "failed"]

    def remove(self, collection: str, path: Path | None = None) -> int:
        """Remove a whole collection, or one file/folder from it; files forgotten."""
        found = self.collection(collection)
        if path is None:
            count = len(self.index.files(found))
            self.index.remove_collection(collection)
            return count
        return self.index.remove_path(found, path.resolve())

    # -- indexing -------------------------------------------------------------------------

    def index_collection(
        self,
        collection: str,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexReport:
        """Index (or resume, or refresh) a collection in this thread."""
        found = self.collection(collection)
        indexer = Indexer(self.index, self.embedder_for(found), cancel)
        with self._run_lock:
            try:
                return indexer.run(found, on_progress)
            except EmbeddingFailed as error:
                raise DocumentsError(str(error)) from None

    def start_indexing(
        self,
        collection: str,
        on_progress: ProgressCallback | None = None,
        on_done: ReportCallback | None = None,
    ) -> IndexJob:
        """Index a collection in a background thread; ``on_done(report, error)`` at the end."""
        job = IndexJob(collection)

        def work() -> None:
            try:
                job.report = self.index_collection(collection, on_progress, job.cancel_event)
            except DocumentsError as error:
                job.error = str(error)
            except Exception as error:  # a bug must reach the window and the log, not stderr
                log.exception("indexing %s failed", collection)
                job.error = f"indexing {collection} failed: {type(error).__name__}: {error}"[:300]
            if on_done is not None:
                on_done(job.report, job.error)

        job.thread = threading.Thread(target=work, name=f"docs-index-{collection}", daemon=True)
        job.thread.start()
        return job

    def resume_all(self, on_done: ReportCallback | None = None) -> list[IndexJob]:
        """Bring every collection up to date (after a crash or quit), in the background."""
        return [
            self.start_indexing(name, on_done=on_done) for name in self.index.collection_names()
        ]

    def watch(self, interval: float = 5.0, on_done: ReportCallback | None = None) -> FolderPoller:
        """Start polling every collection's sources; a change re-indexes that collection
        (``on_done`` is told when each such run ends)."""
        if self.watcher is None:
            self._on_watch_done = on_done
            self.watcher = FolderPoller(self._all_sources, self._changed, interval)
            self.watcher.start()
        return self.watcher

    def _all_sources(self) -> dict[str, list[Path]]:
        return {
            name: self.index.sources(self.index.collection(name))
            for name in self.index.collection_names()
        }

    def _changed(self, collection: str) -> None:
        self.start_indexing(collection, on_done=self._on_watch_done)

    # -- retrieval ------------------------------------------------------------------------

    def search(self, query: str, collections: Sequence[str], limit: int = 10) -> list[ChunkHit]:
        """The best chunks for ``query`` in the named collections, best first."""
        found = [self.collection(name) for name in collections]
        try:
            return self.retriever.search(found, query, limit)
        except EmbeddingFailed as error:
            raise DocumentsError(str(error)) from None

    def warm(self, collections: Sequence[str]) -> threading.Thread:
        """Load the collections' vector matrices in the background (the first query after
        a start would otherwise read every vector: about 3 s at 100,000 chunks)."""

        def load() -> None:
            for name in collections:
                with contextlib.suppress(DocumentsError):
                    self.retriever.vectors.matrix(self.collection(name))

        thread = threading.Thread(target=load, name="docs-warm", daemon=True)
        self._warming.append(thread)
        thread.start()
        return thread

    def passage_tokens(
        self, collections: Sequence[str], n_ctx: int, whole: int | None = None
    ) -> int:
        """Tokens the passages for any question from ``collections`` may take in a prompt
        (``chatdesk.docs.context.passage_tokens``)."""
        found = [self.collection(name) for name in collections]
        return passage_tokens(self.index, found, n_ctx, whole)

    def context_for(
        self,
        question: str,
        collections: Sequence[str],
        n_ctx: int,
        count: TokenCount = estimated_tokens,
    ) -> DocumentContext:
        """The numbered passages (whole documents when they fit) for a question, sized in
        the model's tokens by ``count``."""
        found = [self.collection(name) for name in collections]
        try:
            return build_context(self.index, self.retriever, found, question, n_ctx, count=count)
        except EmbeddingFailed as error:
            raise DocumentsError(str(error)) from None

    def close(self) -> None:
        """Stop watching, close the engine client if this service started it, close the index."""
        if self.watcher is not None:
            self.watcher.stop()
        for thread in self._warming:  # they read the index: let them finish before it closes
            thread.join(WARM_JOIN_S)
        if self._owns_engine and self._engine is not None:
            self._engine.close()
        self.retriever.close()
        self.index.close()
