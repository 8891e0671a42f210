"""Exact vector search over a collection's embeddings, held as one float32 matrix.

SQLite extensions (sqlite-vec) cannot be loaded by every Python ChatDesk runs on (the
development build lacks ``enable_load_extension``), so vectors live as blobs in the index
and search is exact: the collection's vectors are read once into a contiguous, row-
normalised float32 matrix and a query is one matrix-vector product (cosine similarity) and
a partial sort. At 100,000 chunks of 384 dimensions that is 150 MB and a few milliseconds.
The matrix is loaded lazily on the first query and reloaded only when the index's
``vectors_version`` changes. Reading 100,000 vectors out of SQLite takes seconds, so the
normalised matrix is also saved (``documents-vectors/<index id>-<collection>-<version>.npz``
beside the index) and the next start loads that copy instead, while the index has not changed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from chatdesk.docs.index import DocumentIndex
from chatdesk.docs.records import Collection

CANDIDATES = 50


def normalise(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    rows = np.ascontiguousarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(rows / norms, dtype=np.float32)


class VectorCache:
    """Per collection: (chunk ids, normalised matrix), reloaded when the index changes."""

    def __init__(self, index: DocumentIndex) -> None:
        self.index = index
        self._lock = threading.Lock()
        self._version = -1
        self._loaded: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.folder = index.path.parent / "documents-vectors"  # saved matrices, disposable

    def matrix(
        self, collection: Collection, version: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The collection's ids and matrix, loaded now if missing or stale (``version``: the
        index's vectors version if the caller has just read it)."""
        version = self.index.vectors_version() if version is None else version
        with self._lock:
            if version != self._version:
                self._loaded.clear()
                self._version = version
            if collection.id not in self._loaded:
                self._loaded[collection.id] = self._read(collection, version)
            return self._loaded[collection.id]

    def _read(self, collection: Collection, version: int) -> tuple[np.ndarray, np.ndarray]:
        """From the saved copy of this version, else from the index (then saved)."""
        path = self.folder / f"{self.index.index_id()}-{collection.id}-{version}.npz"
        try:
            with np.load(path) as saved:
                return saved["ids"], saved["matrix"]
        except (OSError, ValueError, KeyError):
            pass
        ids, matrix = self.index.load_vectors(collection)
        matrix = normalise(matrix) if len(ids) else matrix
        self._save(path, collection, ids, matrix)
        return ids, matrix

    def _save(
        self, path: Path, collection: Collection, ids: np.ndarray, matrix: np.ndarray
    ) -> None:
        """Keep a copy for the next start (older versions of the collection removed)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for old in self.folder.glob(f"*-{collection.id}-*.npz"):
                old.unlink(missing_ok=True)
            partial = path.with_suffix(".partial")
            with partial.open("wb") as handle:
                np.savez(handle, ids=ids, matrix=matrix)
            partial.replace(path)
        except OSError:
            pass  # only a cache: the next start reads the index again

    def search(
        self,
        collection: Collection,
        query: np.ndarray,
        limit: int = CANDIDATES,
        version: int | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the nearest chunks, best first."""
        ids, matrix = self.matrix(collection, version)
        if not len(ids) or matrix.shape[1] != query.shape[-1]:
            return []
        scores = matrix @ normalise(query.reshape(1, -1))[0]
        count = min(limit, len(ids))
        best = np.argpartition(-scores, count - 1)[:count]
        best = best[np.argsort(-scores[best])]
        return [(int(ids[i]), float(scores[i])) for i in best]
