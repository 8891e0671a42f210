"""The window starts the engine host at launch, so the first model load does not wait for it."""

from __future__ import annotations

from chatdesk.engine.client import EngineClient
from chatdesk.services.app_services import AppServices


def test_warm_up_starts_a_host_without_loading_a_model() -> None:
    services = AppServices.create()
    try:
        client = services.engine.engine  # the local engine host by default
        assert isinstance(client, EngineClient)
        assert client.host_pid is None
        services.engine.warm_up()
        assert client.host_pid is not None
        assert not services.engine.ready
    finally:
        services.close()
