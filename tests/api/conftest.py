"""ChatDesk's API server over the real engine host and starter model, for the openai client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.api.app import ApiConfig, create_app
from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.server import ApiServer
from chatdesk.engine.types import LoadOptions
from tests.support.openai_servers import free_port, require
from tests.support.recording_engine import RecordingEngine

MODEL_ID = "smollm2"


@pytest.fixture(scope="session")
def api_engine(starter_model_path: Path) -> Iterator[RecordingEngine]:
    require("llama_cpp")
    engine = RecordingEngine()
    engine.load(LoadOptions(starter_model_path, n_ctx=2048, n_threads=1)).result(timeout=120)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def scheduler(api_engine: RecordingEngine) -> FairScheduler:
    return FairScheduler(api_engine)


def start_api(scheduler: FairScheduler, config: ApiConfig) -> ApiServer:
    server = ApiServer(create_app(scheduler, config), "127.0.0.1", free_port())
    server.start()
    return server


@pytest.fixture(scope="session")
def api_server(scheduler: FairScheduler) -> Iterator[ApiServer]:
    server = start_api(scheduler, ApiConfig(model_id=MODEL_ID, max_tokens_limit=4096))
    yield server
    server.stop()
