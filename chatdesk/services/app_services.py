"""All the services the window uses, built once over one store and one engine client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chatdesk.engine.client import EngineClient
from chatdesk.services.chat import ChatService
from chatdesk.services.engine_session import EngineSession
from chatdesk.services.export import ExportService
from chatdesk.services.settings import SettingsService
from chatdesk.store import Store


@dataclass
class AppServices:
    """Store, settings, engine session, chat and export, wired together."""

    store: Store
    settings: SettingsService
    engine: EngineSession
    chat: ChatService
    export: ExportService

    @classmethod
    def create(
        cls,
        database: Path | None = None,
        client_factory: Callable[[], EngineClient] = EngineClient,
    ) -> AppServices:
        """Open the store (migrating it if needed) and prepare a lazily started engine."""
        store = Store(database)  # marks replies cut off by a crash as interrupted
        settings = SettingsService(store)
        engine = EngineSession(settings, client_factory)
        return cls(
            store, settings, engine, ChatService(store, engine, settings), ExportService(store)
        )

    def close(self) -> None:
        """Stop the engine host and close the database."""
        self.engine.close()
        close = getattr(self.store, "close", None)
        if callable(close):
            close()
