"""Every engine implementation and wrapper, as one parametrised fixture, and the results table.

``engine`` is each implementation of the ``Engine`` protocol in turn, on the real starter
model: the local engine host (``EngineClient``), a remote engine against a real
``python -m llama_cpp.server``, the API server's scheduling lane (``ScheduledEngine``) and
the window's session wrapper (``SessionEngine``), both over the local host. Engines are
session-scoped (one host, one server for the whole run). A new implementation or wrapper is
one more entry in ``IMPLEMENTATIONS`` and its builder.

Each test records its cell (implementation x feature -> "pass" or "refused"); the table is
printed at the end of the run (and written to ``$CHATDESK_CONFORMANCE_TABLE`` when set).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatdesk.api.scheduler import FairScheduler, ScheduledEngine
from chatdesk.engine.client import EngineClient
from chatdesk.engine.interface import Engine
from chatdesk.engine.types import LoadOptions
from tests.support.openai_servers import MODEL_ID, LlamaCppServer, require

IMPLEMENTATIONS = ("local", "remote", "api-lane", "session")
RESULTS: dict[tuple[str, str], str] = {}


class Engines:
    """Builds each implementation once, on first use, and closes them at the end."""

    def __init__(self, model: Path, scratch: Path) -> None:
        self.model = model
        self.scratch = scratch
        self.built: dict[str, Engine] = {}
        self.closers: list[Callable[[], None]] = []

    def get(self, name: str) -> Engine:
        if name not in self.built:
            self.built[name] = getattr(self, "_" + name.replace("-", "_"))()
        return self.built[name]

    def _local(self) -> Engine:
        require("llama_cpp")
        client = EngineClient()
        self.closers.append(client.close)
        client.load(LoadOptions(self.model, n_ctx=2048, n_threads=1)).result(timeout=180)
        return client

    def _remote(self) -> Engine:
        require("llama_cpp", "sse_starlette", "pydantic_settings")
        from chatdesk.remote.connection import ServerAddress
        from chatdesk.remote.engine import RemoteEngine

        server = LlamaCppServer(self.model, threads=1)
        self.closers.append(server.close)
        engine = RemoteEngine(ServerAddress(server.url), name="llama-cpp-python")
        self.closers.append(engine.close)
        engine.load(LoadOptions(MODEL_ID)).result(timeout=60)
        return engine

    def _api_lane(self) -> Engine:
        return ScheduledEngine(FairScheduler(self.get("local")))

    def _session(self) -> Engine:
        from chatdesk.services.api_server import SessionEngine
        from chatdesk.services.engine_session import EngineSession
        from chatdesk.services.settings import SettingsService
        from chatdesk.store import Store

        local = self.get("local")
        store = Store(self.scratch / "session.db")
        self.closers.append(store.close)
        session = EngineSession(SettingsService(store), lambda: local)
        loading = session.load(str(self.model), LoadOptions(self.model, n_ctx=2048, n_threads=1))
        assert loading is not None
        loading.result(timeout=180)
        deadline = time.monotonic() + 10  # the session hears of the load just after it
        while not session.ready and time.monotonic() < deadline:
            time.sleep(0.01)
        assert session.ready, session.status
        return SessionEngine(session)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


@pytest.fixture(scope="session")
def engines(
    starter_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engines]:
    built = Engines(starter_model_path, tmp_path_factory.mktemp("conformance"))
    yield built
    built.close()


@pytest.fixture(params=IMPLEMENTATIONS)
def engine(request: pytest.FixtureRequest, engines: Engines) -> Engine:
    """Each implementation in turn (its name is ``request.param``)."""
    return engines.get(str(request.param))


def record(implementation: str, feature: str, result: str) -> None:
    """One cell of the table."""
    RESULTS[(implementation, feature)] = result


def table() -> str:
    """The results as a Markdown table (implementation x feature)."""
    features = list(dict.fromkeys(feature for _impl, feature in RESULTS))
    rows = ["| implementation | " + " | ".join(features) + " |"]
    rows.append("|---" * (len(features) + 1) + "|")
    for impl in IMPLEMENTATIONS:
        cells = [RESULTS.get((impl, feature), "-") for feature in features]
        if any(cell != "-" for cell in cells):
            rows.append(f"| {impl} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    text = table()
    terminalreporter.section("engine conformance (implementation x feature)")
    terminalreporter.write_line(text)
    target = os.environ.get("CHATDESK_CONFORMANCE_TABLE")
    if target:
        Path(target).write_text(text + "\n", encoding="utf-8")
