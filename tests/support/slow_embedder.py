"""An embedding model that is slow to embed a query, for "nothing blocks the GUI thread".

A cold embedding model in the engine host can take seconds for the first query vector. The
window test and the GUI benchmark attach a collection indexed with this embedder and check
that the window keeps serving its event loop while the question is embedded. Documents are
embedded at once (indexing is not what is measured; the text is too long to go into the
prompt whole, so a question is always embedded); a query waits ``delay`` seconds, or
raises ``EmbeddingFailed`` when ``broken`` (the model file went away).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatdesk.docs.embedder import EmbeddingFailed
from chatdesk.docs.records import Collection
from chatdesk.services.documents import DocumentService

RAIL_TEXT = "# Rail\n\nThe Velta tunnel is 14.2 km long.\n\n" + "".join(
    f"## Station {n}\n\nStation {n} has {n % 7 + 1} platforms and opened in {1850 + n}.\n\n"
    for n in range(1, 1500)
)  # too long to go into a prompt whole: the question is embedded to retrieve chunks


@dataclass
class SlowEmbedder:
    """Tiny deterministic vectors; ``embed_query`` sleeps ``delay`` seconds first."""

    delay: float = 2.0
    broken: bool = False
    model: str = "slow-embedder"

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """One 3-dimensional row per text, from its length."""
        return np.array([[len(t) % 7 + 1.0, 1.0, len(t) % 3 + 0.5] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """The query's vector, after ``delay`` seconds (or the model's failure)."""
        time.sleep(self.delay)
        if self.broken:
            raise EmbeddingFailed("embedding model slow-embedder.gguf: the file is gone")
        return self.embed_documents([text])[0]


def slow_collection(
    documents: DocumentService, folder: Path, name: str, embedder: SlowEmbedder
) -> None:
    """Index a collection of ``folder`` whose embedding model is ``embedder``."""
    model = folder / "slow-embedder.gguf"
    model.write_bytes(b"GGUF" + bytes(60))
    (folder / "rail.md").write_text(RAIL_TEXT, encoding="utf-8")

    def embedder_for(collection: Collection) -> SlowEmbedder | None:
        return embedder if collection.embedding_model else None

    documents.embedder_for = embedder_for  # type: ignore[method-assign,assignment]
    documents.retriever.embedder_for = embedder_for
    documents.add([folder / "rail.md"], name, embedding_model=model)
    documents.index_collection(name)
