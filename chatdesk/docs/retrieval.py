"""Hybrid retrieval: keyword (FTS5 bm25) and vector (cosine) rankings merged by RRF.

Reciprocal-rank fusion scores a chunk ``sum(1 / (RRF_K + rank))`` over the rankings it
appears in (rank from 1), so a chunk near the top of both wins, and neither the bm25 nor
the cosine scale has to be calibrated against the other. Without an embedding model (or
for a collection indexed without one) the keyword ranking alone is used, and the other
way round a query with no indexed word still finds chunks by meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from chatdesk.docs.embedder import Embedder
from chatdesk.docs.index import DocumentIndex
from chatdesk.docs.keywords import keyword_search
from chatdesk.docs.records import ChunkHit, Collection
from chatdesk.docs.vectors import VectorCache

RRF_K = 60
CANDIDATES = 50

Ranking = list[tuple[int, float]]
EmbedderFor = Callable[[Collection], Embedder | None]


def fuse(rankings: Sequence[Ranking], k: int = RRF_K) -> Ranking:
    """Reciprocal-rank fusion of several rankings (best first) into one."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, (ident, _score) in enumerate(ranking, start=1):
            scores[ident] = scores.get(ident, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


class Retriever:
    """Finds the chunks of some collections that best answer a query."""

    def __init__(self, index: DocumentIndex, embedder_for: EmbedderFor) -> None:
        self.index = index
        self.vectors = VectorCache(index)
        self.embedder_for = embedder_for
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="docs-vectors")

    def rankings(self, collections: Sequence[Collection], query: str) -> list[Ranking]:
        """The keyword ranking and the vector ranking (collections with an embedder).

        The vector side (embedding the query in the engine host, the matrix product) runs
        in a worker thread while the keyword search runs here: SQLite and numpy both let
        go of the GIL, so on two cores a query costs about the slower of the two.
        """
        version = self.index.vectors_version()  # read first: the keyword search holds the lock
        vectors = self._worker.submit(self.vector_ranking, collections, query, version)
        keywords = keyword_search(self.index, collections, query, CANDIDATES)
        return [ranking for ranking in (keywords, vectors.result()) if ranking]

    def vector_ranking(
        self, collections: Sequence[Collection], query: str, version: int
    ) -> Ranking:
        """The nearest chunks by meaning over the collections that have an embedder."""
        found: Ranking = []
        for collection in collections:
            embedder = self.embedder_for(collection)
            if embedder is not None:
                vector = embedder.embed_query(query)
                found += self.vectors.search(collection, vector, CANDIDATES, version)
        found.sort(key=lambda item: -item[1])
        return found[:CANDIDATES]

    def search(
        self, collections: Sequence[Collection], query: str, limit: int = 8
    ) -> list[ChunkHit]:
        """The best ``limit`` chunks, best first, with their fused score."""
        fused = fuse(self.rankings(collections, query))[:limit]
        return self.index.chunk_hits([(ident, round(score, 6)) for ident, score in fused])

    def close(self) -> None:
        """Stop the worker thread."""
        self._worker.shutdown(wait=False)
