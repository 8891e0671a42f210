"""A real llama-cpp-python server with the starter model, and a fault proxy in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openai_servers import FaultProxy, LlamaCppServer, require


@pytest.fixture(scope="session")
def llama_server(starter_model_path: Path) -> Iterator[LlamaCppServer]:
    """``python -m llama_cpp.server`` serving the starter model as ``starter``."""
    require("llama_cpp", "sse_starlette", "pydantic_settings")  # the [server] extra
    server = LlamaCppServer(starter_model_path, threads=1)
    yield server
    server.close()


@pytest.fixture(scope="session")
def session_proxy(llama_server: LlamaCppServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(llama_server.url)
    yield proxy
    proxy.server.stop()


@pytest.fixture
def proxy(session_proxy: FaultProxy) -> FaultProxy:
    """The fault proxy, reset to pass everything through."""
    session_proxy.set()
    return session_proxy
