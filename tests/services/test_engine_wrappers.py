"""The engines the app wraps stay engines: the API server's lane and the session wrapper are
checked structurally (no cast), and documents embed through the one local engine host even
while replies go through the API server's lane."""

from __future__ import annotations

from pathlib import Path

from chatdesk.api.scheduler import ScheduledEngine
from chatdesk.engine.client import EngineClient
from chatdesk.engine.interface import Engine
from chatdesk.services.api_server import SessionEngine
from chatdesk.services.app_services import AppServices


def test_documents_share_the_local_host_while_the_api_server_lane_is_on(tmp_path: Path) -> None:
    client = EngineClient()
    services = AppServices.create(tmp_path / "chat.db", client_factory=lambda: client)
    try:
        lane: Engine = services.api_server.window_engine()
        assert isinstance(lane, ScheduledEngine)
        services.engine.lane = lane
        assert services.engine.engine is lane  # replies go through the lane...
        assert services.documents.engine() is client  # ...embeddings through the same host
        assert client.host_pid is None  # and nothing was started for it
    finally:
        services.close()


def test_the_wrappers_report_their_engines_capabilities(tmp_path: Path) -> None:
    client = EngineClient()
    services = AppServices.create(tmp_path / "chat.db", client_factory=lambda: client)
    try:
        wrapped: Engine = SessionEngine(services.engine)
        assert wrapped.capabilities == client.capabilities
        assert services.api_server.window_engine().capabilities == client.capabilities
    finally:
        services.close()
