"""All the services a front end uses, built once over one store and one engine session.

``AppServices`` owns every service (no module-level registries): the window and the command
line build one and close it at the end. ``set_dispatch`` chooses the thread that engine
events are delivered on (the window passes its Qt bridge; see ``chatdesk.services.events``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chatdesk.engine.interface import Engine
from chatdesk.services.chat import ChatService
from chatdesk.services.conversations import ConversationsService
from chatdesk.services.engine_session import EngineSession, local_engine
from chatdesk.services.events import Dispatch
from chatdesk.services.export import ExportService
from chatdesk.services.model_identity import HashCache
from chatdesk.services.settings import SettingsService
from chatdesk.services.turns import TurnService
from chatdesk.store import Store

if TYPE_CHECKING:
    from chatdesk.services.models import ModelService


@dataclass
class AppServices:
    """Store, settings, engine session, turns, chat, conversations, export and models."""

    store: Store
    settings: SettingsService
    engine: EngineSession
    turns: TurnService
    chat: ChatService
    conversations: ConversationsService
    export: ExportService
    _models: ModelService | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls,
        database: Path | None = None,
        client_factory: Callable[[], Engine] = local_engine,
    ) -> AppServices:
        """Open the store (migrating it if needed) and prepare a lazily started engine."""
        store = Store(database)  # marks replies cut off by a crash as interrupted
        settings = SettingsService(store)
        engine = EngineSession(settings, client_factory, hashes=HashCache())
        turns = TurnService(store, engine, settings)
        return cls(
            store, settings, engine, turns, ChatService(store, turns),
            ConversationsService(store), ExportService(store),
        )  # fmt: skip

    def set_dispatch(self, dispatch: Dispatch) -> None:
        """Deliver engine events and load results through ``dispatch`` from now on."""
        self.engine.dispatch = dispatch
        self.turns.dispatch = dispatch

    @property
    def models(self) -> ModelService:
        """Catalogue, downloads and library (created on first use: the hub is slow to import)."""
        if self._models is None:
            from chatdesk.services.models import ModelService

            self._models = ModelService()
        return self._models

    def close(self) -> None:
        """Stop downloads and the engine, and close the database."""
        if self._models is not None:
            self._models.close()
        self.engine.close()
        self.store.close()
