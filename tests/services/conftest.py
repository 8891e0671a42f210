"""Fixtures for the service tests: the real store and services over a scripted engine, or over
a real engine host with the starter or the tiny model; no Qt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.engine.types import LoadOptions
from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from tests.support.scripted_engine import ScriptedEngine


@pytest.fixture
def real_services(starter_model_path: Path) -> Iterator[tuple[AppServices, EventQueue]]:
    """App services over a real engine host with the starter model, and their dispatch."""
    yield from services_with(starter_model_path)


@pytest.fixture
def tiny_services(tiny_model_path: Path) -> Iterator[tuple[AppServices, EventQueue]]:
    """App services over a real engine host with the tiny model, and their dispatch."""
    yield from services_with(tiny_model_path)


def services_with(
    model: Path, timeout: float = 300, n_ctx: int | None = None
) -> Iterator[tuple[AppServices, EventQueue]]:
    """App services over a real engine host with ``model`` loaded (in a context of ``n_ctx``
    tokens: default, the model's own), and their dispatch."""
    from chatdesk.engine.client import EngineClient

    app = AppServices.create(client_factory=EngineClient)
    events = EventQueue()
    app.set_dispatch(events)
    app.engine.load(str(model), LoadOptions(model, n_ctx=n_ctx) if n_ctx else None)
    assert events.run_until(lambda: app.engine.ready, timeout=timeout), app.engine.status.error
    yield app, events
    app.close()


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
