"""Fixtures for the service tests: the real store and services over a scripted engine, no Qt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from tests.support.scripted_engine import ScriptedEngine


@pytest.fixture
def events() -> EventQueue:
    """The services' dispatch: the test thread drains it, as the CLI does."""
    return EventQueue()


@pytest.fixture
def services(
    scripted_engine: ScriptedEngine, events: EventQueue, fake_gguf: Path
) -> Iterator[AppServices]:
    """App services with the scripted model loaded."""
    app = AppServices.create(client_factory=lambda: scripted_engine)  # type: ignore[arg-type,return-value]
    app.set_dispatch(events)
    app.engine.load(str(fake_gguf))
    assert events.run_until(lambda: app.engine.ready, timeout=5)
    yield app
    app.close()
