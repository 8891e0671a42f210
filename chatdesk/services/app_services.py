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
from chatdesk.services.activity_log import TurnLog
from chatdesk.services.chat import ChatService
from chatdesk.services.conversations import ConversationsService
from chatdesk.services.documents_turn import DocumentTurns
from chatdesk.services.engine_session import EngineSession, local_engine
from chatdesk.services.events import Dispatch, Offload, run_inline
from chatdesk.services.export import ExportService
from chatdesk.services.model_identity import HashCache
from chatdesk.services.remote_engines import RemoteEngineService, record_sampling_report
from chatdesk.services.settings import SettingsService
from chatdesk.services.structured import StructuredOutput
from chatdesk.services.token_probabilities import TokenProbabilityFeature
from chatdesk.services.tool_turns import ToolTurns
from chatdesk.services.tools import ToolsService
from chatdesk.services.turns import TurnService
from chatdesk.store import Store
from chatdesk.tools.mcp_servers import CONFIG_NAME, close_sessions

if TYPE_CHECKING:
    from chatdesk.services.api_server import ApiServerService
    from chatdesk.services.documents import DocumentService
    from chatdesk.services.models import ModelService


@dataclass
class AppServices:
    """Store, settings, engine session, turns, chat, conversations, export, token
    probabilities (with few-shot examples) and models."""

    store: Store
    settings: SettingsService
    engine: EngineSession
    turns: TurnService
    chat: ChatService
    conversations: ConversationsService
    export: ExportService
    probabilities: TokenProbabilityFeature
    tools: ToolsService
    tool_turns: ToolTurns
    remote_engines: RemoteEngineService
    structured: StructuredOutput
    _models: ModelService | None = field(default=None, repr=False)
    _api_server: ApiServerService | None = field(default=None, repr=False)
    _documents: DocumentService | None = field(default=None, repr=False)
    document_turns: DocumentTurns = field(init=False, repr=False)
    _api_restored: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        """Documents join every turn through the turn service's hooks (see documents_turn)."""
        self.document_turns = DocumentTurns(
            lambda: self.documents, self.store, self._n_ctx, self.engine.count_tokens
        )
        self.engine.add_listener(lambda _status: self.document_turns.forget_sizes())
        self.turns.add_request_hook(self.document_turns.reserve)
        self.turns.add_request_hook(self.document_turns.on_request, blocking=True)
        self.turns.add_event_hook(self.document_turns.on_event)
        self.turns.add_listener(TurnLog())  # each reply's start and end in the log

    @classmethod
    def create(
        cls,
        database: Path | None = None,
        client_factory: Callable[[], Engine] = local_engine,
    ) -> AppServices:
        """Open the store (migrating it if needed) and prepare a lazily started engine."""
        store = Store(database)  # marks replies cut off by a crash as interrupted
        settings = SettingsService(store)
        remote = RemoteEngineService(store)
        engine = EngineSession(
            settings, client_factory, hashes=HashCache(), remote_engines=remote.open_engine
        )
        turns = TurnService(store, engine, settings)
        probabilities = TokenProbabilityFeature(store)
        probabilities.install(turns)
        structured = StructuredOutput(store)
        structured.install(turns)
        tools = ToolsService(store, store.path.parent / CONFIG_NAME)
        tool_turns = ToolTurns(turns, tools)
        tool_turns.install()
        turns.add_event_hook(record_sampling_report)
        return cls(
            store, settings, engine, turns, ChatService(store, turns),
            ConversationsService(store), ExportService(store), probabilities,
            tools, tool_turns, remote, structured,
        )  # fmt: skip

    def set_dispatch(self, dispatch: Dispatch, offload: Offload = run_inline) -> None:
        """Deliver engine events and load results through ``dispatch`` from now on, and run
        work that may block (document retrieval before a reply) through ``offload``."""
        self.engine.dispatch = dispatch
        self.turns.dispatch = dispatch
        self.turns.offload = offload

    @property
    def models(self) -> ModelService:
        """Catalogue, downloads and library (created on first use: the hub is slow to import)."""
        if self._models is None:
            from chatdesk.services.models import ModelService

            self._models = ModelService()
        return self._models

    def _n_ctx(self) -> int | None:
        info = self.engine.status.info
        return info.n_ctx if info is not None else None

    @property
    def documents(self) -> DocumentService:
        """Document collections (opened on first use); embeddings share the chat's engine host."""
        if self._documents is None:
            from chatdesk.services.documents import DocumentService

            self._documents = DocumentService(engine=self.engine.local_client())
        return self._documents

    @property
    def api_server(self) -> ApiServerService:
        """ChatDesk's own API server over the loaded model (created on first use)."""
        if self._api_server is None:
            from chatdesk.services.api_server import ApiServerService

            self._api_server = ApiServerService.for_session(self.engine, self.turns)
        return self._api_server

    def restore_api_server(self) -> None:
        """Once per start, once a model is ready: the API server on again if it was on when
        the app closed (FastAPI is imported only then)."""
        if self._api_restored:
            return
        self._api_restored = True
        config = self.settings.api_server_config()
        if config["enabled"]:
            self.api_server.restore(config)

    def close(self) -> None:
        """Stop the API server, downloads, indexing and the engine, close the MCP sessions
        (their servers end) and the databases."""
        close_sessions()
        if self._api_server is not None:
            self._api_server.stop()
        if self._models is not None:
            self._models.close()
        if self._documents is not None:
            self._documents.close()
        self.engine.close()
        self.store.close()
