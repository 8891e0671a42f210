"""Embeddings in the engine host: a second model, opened with ``embedding=True``, on demand.

The ``embed`` request names an embedding GGUF and a list of texts. The first request opens
the model (llama-cpp-python's ``Llama``, next to whatever chat model is loaded, which it
does not touch); later requests for the same file reuse it, a different file replaces it.
Pooling is the model's own (CLS for bge, mean for nomic-embed); a model without one (a chat
model used as an embedder) gets mean pooling. Texts longer than the context are cut.
Vectors go back as one base64 string of float32s, row after row: a batch of 64 vectors of
768 numbers costs no JSON number formatting at all.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

from chatdesk.engine.host.engine import EngineFailure, default_threads
from chatdesk.engine.types import ErrorCode
from chatdesk.gguf_metadata import GGUFError, validate_gguf

# Tokens per text at most (longer texts are cut; a chunk is about 250), also the batch and
# micro-batch: non-causal models (BERT: bge, nomic) need a whole text in one micro-batch,
# and at 2048 the attention buffers alone took about 1 GB.
EMBED_CONTEXT = 512
MAX_TEXTS = 4096


def open_embedding_model(path: Path, pooling: int) -> Any:
    """A llama-cpp-python ``Llama`` in embedding mode with one text per sequence."""
    threads, batch_threads = default_threads()
    return llama_cpp.Llama(
        model_path=str(path),
        embedding=True,
        pooling_type=pooling,
        n_ctx=EMBED_CONTEXT,
        n_batch=EMBED_CONTEXT,
        n_ubatch=EMBED_CONTEXT,
        n_threads=threads,
        n_threads_batch=batch_threads,
        n_gpu_layers=-1 if llama_cpp.llama_supports_gpu_offload() else 0,
        verbose=False,
    )


def load_embedding_model(path: Path) -> Any:
    """Open ``path`` for embeddings with the model's pooling, or mean pooling if it has none."""
    if not path.is_file():
        raise EngineFailure(ErrorCode.INVALID_MODEL, f"no embedding model file at {path}")
    try:
        validate_gguf(path)
    except (GGUFError, OSError) as error:
        raise EngineFailure(ErrorCode.INVALID_MODEL, str(error)) from None
    try:
        model = open_embedding_model(path, llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED)
        if model.pooling_type() == llama_cpp.LLAMA_POOLING_TYPE_NONE:
            model.close()
            model = open_embedding_model(path, llama_cpp.LLAMA_POOLING_TYPE_MEAN)
    except (ValueError, RuntimeError) as error:
        raise EngineFailure(ErrorCode.LOAD_FAILED, f"{error} ({path.name})") from None
    return model


def encode_vectors(vectors: np.ndarray) -> dict[str, Any]:
    """The wire form of a matrix of vectors."""
    rows = np.ascontiguousarray(vectors, dtype=np.float32)
    return {
        "count": int(rows.shape[0]),
        "dim": int(rows.shape[1]) if rows.ndim == 2 else 0,
        "data": base64.b64encode(rows.tobytes()).decode("ascii"),
    }


class Embeddings:
    """The host's embedding model, opened on demand; runs on the host's worker thread."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.model: Any = None

    def embed(self, model_path: str, texts: list[str]) -> dict[str, Any]:
        """Vectors for ``texts`` from the embedding model at ``model_path``."""
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ValueError("texts must be a list of strings")
        if len(texts) > MAX_TEXTS:
            raise ValueError(f"at most {MAX_TEXTS} texts per request")
        model = self._model(Path(model_path))
        if not texts:
            return encode_vectors(np.zeros((0, model.n_embd()), dtype=np.float32))
        vectors = model.embed([text or " " for text in texts], truncate=True)
        return encode_vectors(np.asarray(vectors, dtype=np.float32))

    def _model(self, path: Path) -> Any:
        path = path.resolve()
        if self.model is not None and self.path == path:
            return self.model
        self.close()
        print(f"chatdesk-host: loading embedding model {path}", file=sys.stderr, flush=True)
        self.model, self.path = load_embedding_model(path), path
        return self.model

    def close(self) -> None:
        """Free the embedding model."""
        if self.model is not None:
            self.model.close()
        self.model, self.path = None, None
