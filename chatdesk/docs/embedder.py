"""Embedding vectors for chunks and queries, computed by the engine host.

``Embedder`` is what the indexer and the search need: vectors for many document chunks and
for one query. ``EngineEmbedder`` asks an ``EngineClient`` (the engine host runs llama.cpp;
this process never imports it) with the embedding GGUF's path. Some embedding models want
a task prefix on each text (nomic-embed: ``search_document: `` / ``search_query: ``; bge:
an instruction before queries); those come from the catalogue entry whose file name
matches, and a model that is in no catalogue entry gets none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from chatdesk.docs.embedding_catalogue import prefixes_for
from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import EngineError

EMBED_TIMEOUT = 600.0  # seconds for one batch, including opening the model


class EmbeddingFailed(Exception):
    """The embedding model could not be opened or failed; the message says why."""


class Embedder(Protocol):
    """Turns text into vectors; ``model`` identifies the vectors' space."""

    model: str

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """One row per text."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of a search query."""
        ...


@dataclass
class EngineEmbedder:
    """Vectors from an embedding GGUF run in the engine host."""

    client: EngineClient
    model: str

    def _embed(self, texts: list[str]) -> np.ndarray:
        try:
            return self.client.embed(self.model, texts).result(timeout=EMBED_TIMEOUT)
        except EngineError as error:
            raise EmbeddingFailed(f"embedding model {Path(self.model).name}: {error}") from None
        except TimeoutError:
            raise EmbeddingFailed(f"embedding model {Path(self.model).name} timed out") from None

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """One row per chunk, with the model's document prefix."""
        prefix = prefixes_for(self.model)[0]
        return self._embed([prefix + text for text in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """The query's vector, with the model's query prefix."""
        return self._embed([prefixes_for(self.model)[1] + text])[0]
