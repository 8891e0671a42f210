"""ChatDesk's API server over the real engine host and starter model, for the openai client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.api.app import ApiConfig, create_app
from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.server import ApiServer
from chatdesk.engine.client import EngineClient, ReplyStream
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import LoadOptions
from tests.support.openai_servers import free_port, require

MODEL_ID = "smollm2"


class RecordingEngine(EngineClient):
    """The real engine client, remembering every reply it started (to check cancels)."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[ReplyStream] = []
        self.started = threading.Event()

    def generate(self, request: ChatRequest) -> ReplyStream:
        reply = super().generate(request)
        self.replies.append(reply)
        self.started.set()
        return reply


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
