"""Engine fixtures: one engine host with the tiny model for the whole session, and models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions, ModelInfo

NEEDS_LLAMA = "llama_cpp"  # the engine host runs llama-cpp-python; without it these tests skip


def loaded_engine(path: Path, threads: int, n_ctx: int = 2048) -> Iterator[EngineClient]:
    """An engine host with ``path`` loaded in an ``n_ctx``-token context, closed afterwards."""
    pytest.importorskip(NEEDS_LLAMA)
    client = EngineClient()
    client.load(LoadOptions(path, n_ctx=n_ctx, n_threads=threads)).result(timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="session")
def engine(tiny_model_path: Path) -> Iterator[EngineClient]:
    """A running engine host with the tiny model loaded (shared: tests must not unload it)."""
    yield from loaded_engine(tiny_model_path, 1)


@pytest.fixture
def short_context(tiny_model_path: Path) -> Iterator[EngineClient]:
    """A fresh host with the tiny model in a 1,024-token context, which a test's chat soon
    outgrows (chats longer than the context)."""
    yield from loaded_engine(tiny_model_path, 1, n_ctx=1024)


@pytest.fixture(scope="session")
def starter_engine(starter_model_path: Path) -> Iterator[EngineClient]:
    """An engine host with the real starter model loaded (shared: tests must not unload it)."""
    yield from loaded_engine(starter_model_path, 2)


@pytest.fixture(scope="session")
def tiny_info(engine: EngineClient) -> ModelInfo:
    """What loading the tiny model reported."""
    assert engine.model_info is not None
    return engine.model_info


@pytest.fixture
def fresh_engine() -> Iterator[EngineClient]:
    """A client of its own (for tests that load other models, crash or kill the host)."""
    pytest.importorskip(NEEDS_LLAMA)
    client = EngineClient()
    yield client
    client.close()


@pytest.fixture(scope="session")
def medium_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model big enough (about 36 MB, F32) that a long prompt takes a second or more."""
    from tests.support.gguf_factory import ModelSpec, write_model

    spec = ModelSpec(n_embd=384, n_layer=4, n_head=6, n_head_kv=2, n_ff=1536, seed=3)
    return write_model(tmp_path_factory.mktemp("models") / "medium.gguf", spec)
