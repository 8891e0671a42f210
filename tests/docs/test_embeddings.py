"""Embeddings from the engine host (the real starter model in embedding mode, mean pooling)
and hybrid search with them; edge cases on a generated model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import EngineError, LoadOptions, SamplingSettings
from chatdesk.services.documents import DocumentService
from tests.support.chat_requests import chat

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client() -> Iterator[EngineClient]:
    pytest.importorskip("llama_cpp")
    engine = EngineClient()
    yield engine
    engine.close()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_vectors_from_the_real_model(client: EngineClient, starter_model_path: Path) -> None:
    texts = [
        "The capital of France is Paris.",
        "Paris is the French capital city.",
        "Bananas are a yellow tropical fruit.",
    ]
    vectors = client.embed(str(starter_model_path), texts).result(timeout=120)
    assert vectors.shape == (3, 576)
    assert vectors.dtype == np.float32
    again = client.embed(str(starter_model_path), texts[:1]).result(timeout=60)
    np.testing.assert_allclose(again[0], vectors[0], rtol=1e-4, atol=1e-4)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])


def test_edge_cases_on_a_generated_model(
    client: EngineClient, tiny_model_path: Path, tmp_path: Path
) -> None:
    model = str(tiny_model_path)
    assert client.embed(model, []).result(timeout=60).shape == (0, 64)
    long_text = "word " * 10_000  # far beyond the context: cut, not refused
    assert client.embed(model, [long_text, ""]).result(timeout=60).shape == (2, 64)
    with pytest.raises(EngineError, match="no embedding model file"):
        client.embed(str(tmp_path / "missing.gguf"), ["x"]).result(timeout=60)
    (tmp_path / "fake.gguf").write_bytes(b"not a model at all" * 10)
    with pytest.raises(EngineError, match="GGUF"):
        client.embed(str(tmp_path / "fake.gguf"), ["x"]).result(timeout=60)
    assert client.embed(model, ["still works"]).result(timeout=60).shape == (1, 64)


def test_embedding_beside_a_loaded_chat_model(
    client: EngineClient, tiny_model_path: Path, starter_model_path: Path
) -> None:
    client.load(LoadOptions(tiny_model_path, n_ctx=512, n_threads=1)).result(timeout=60)
    client.embed(str(starter_model_path), ["a sentence"]).result(timeout=120)
    reply = client.generate(
        chat(
            [{"role": "user", "content": "Hi"}],
            system_prompt="",
            sampling=SamplingSettings(seed=1, max_tokens=5, ignore_eos=True),
        )
    )
    assert reply.wait(timeout=60).generated_tokens == 5  # the chat model is still there


def test_hybrid_search_with_vectors(
    library: Path, chatdesk_home: Path, client: EngineClient, starter_model_path: Path
) -> None:
    service = DocumentService(chatdesk_home, engine=client)
    try:
        service.add([library], "lib", embedding_model=starter_model_path)
        report = service.index_collection("lib")
        summary = service.collections()[0]
        assert summary.vectors == summary.chunks == report.progress.chunks
        hits = service.search("How long is the Velta tunnel?", ["lib"])
        assert (Path(hits[0].file).name, hits[0].page) == ("report.pdf", 2)
        # No word of this query is in any document: only the vectors can answer it.
        assert service.retriever.rankings([service.collection("lib")], "zzyzx qwv")[0]
        assert service.search("zzyzx qwv", ["lib"])
    finally:
        service.close()
