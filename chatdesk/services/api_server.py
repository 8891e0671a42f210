"""The window's API-server switch: ChatDesk's OpenAI-compatible API over the window's engine.

``ApiServerService`` owns a ``FairScheduler`` over the engine the window uses, so the API
and the window share one model in memory. ``for_session`` builds it over the window's
``EngineSession`` (whatever model is loaded, local or remote) and, while the server runs,
sets the session's ``lane`` to the scheduler's priority lane: a reply typed in the window
then waits at most for the API reply already running. ``requests()`` lists what is queued
and running.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from chatdesk.api.app import ApiConfig, create_app
from chatdesk.api.defaults import DEFAULT_HOST, DEFAULT_PORT
from chatdesk.api.exchange import ApiExchange
from chatdesk.api.scheduler import FairScheduler, RequestInfo, ScheduledEngine
from chatdesk.api.server import ApiServer, BindError, check_bind
from chatdesk.engine import protocol
from chatdesk.engine.interface import Engine, ReplyHandle
from chatdesk.engine.request import ChatRequest, EngineCapabilities, RenderedPrompt
from chatdesk.engine.types import EngineError, ErrorCode, LoadOptions, ModelInfo, SamplingSettings
from chatdesk.services.engine_session import EngineSession
from chatdesk.services.replies import ExchangeReply
from chatdesk.services.settings import SAMPLING_LIMITS
from chatdesk.services.turns import TurnService

log = logging.getLogger("chatdesk.api")

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ApiServerService", "BindError", "RequestInfo"]
SAVED = frozenset(SAMPLING_LIMITS)  # the settings a conversation row keeps


class SessionEngine:
    """The session's loaded engine as an ``Engine`` (follows model switches). Each method
    is spelled out, so mypy checks this wrapper against the protocol like any engine."""

    def __init__(self, session: EngineSession) -> None:
        self.session = session

    @property
    def model_info(self) -> ModelInfo | None:
        """The loaded model, once ready."""
        status = self.session.status
        return status.info if self.session.ready else None

    @property
    def capabilities(self) -> EngineCapabilities:
        """The loaded model's engine's."""
        return self.session.raw_engine.capabilities

    def start(self) -> None:
        """Start the loaded model's engine."""
        self.session.raw_engine.start()

    def load(self, options: LoadOptions) -> Future[ModelInfo]:
        """Load on the session's engine."""
        return self.session.raw_engine.load(options)

    def unload(self) -> Future[None]:
        """Unload on the session's engine."""
        return self.session.raw_engine.unload()

    def status(self) -> Future[dict[str, Any]]:
        """The session's engine's status."""
        return self.session.raw_engine.status()

    def render(self, request: ChatRequest) -> Future[RenderedPrompt]:
        """The session's engine's rendering."""
        return self.session.raw_engine.render(request)

    def count_tokens(self, texts: Sequence[str]) -> Future[list[int]]:
        """The session's engine's count."""
        return self.session.raw_engine.count_tokens(texts)

    def generate(self, request: ChatRequest) -> ReplyHandle:
        """A reply from the session's engine (``request`` unchanged)."""
        return self.session.raw_engine.generate(request)

    def warm(self, request: ChatRequest) -> Future[dict[str, Any]]:
        """A warm on the session's engine where it warms (the local host); elsewhere (a
        remote server) nothing is read, as when a warm is cancelled."""
        warmer = self.session.warmer
        if warmer is not None:
            return warmer.warm(request)
        nothing: Future[dict[str, Any]] = Future()
        nothing.set_result(protocol.nothing_warmed(cancelled=True))
        return nothing

    def complete(self, prompt: str, sampling: SamplingSettings | None = None) -> ReplyHandle:
        """A raw text completion, where the loaded model's engine does them (local)."""
        client = self.session.local_client()
        if client is None or self.session.raw_engine is not client:
            raise EngineError(
                "this engine does not do raw text completions; use /v1/chat/completions",
                ErrorCode.UNSUPPORTED,
            )
        return client.complete(prompt, sampling)

    def close(self, timeout: float = 5.0) -> None:
        """Nothing of its own to close (the session owns the engine)."""
        del timeout


class ApiServerService:
    """Starts and stops the API server; reports its URL and running requests."""

    def __init__(
        self,
        engine: Engine,
        session: EngineSession | None = None,
        turns: TurnService | None = None,
    ) -> None:
        self.scheduler = FairScheduler(engine)
        self.session = session
        self.turns = turns
        self._server: ApiServer | None = None
        self.access = ""
        self.saved = 0  # API exchanges saved as conversations

    @classmethod
    def for_session(cls, session: EngineSession, turns: TurnService) -> ApiServerService:
        """A server over the window's loaded model; the window's replies get priority."""
        return cls(SessionEngine(session), session, turns)

    def _save(self, exchange: ApiExchange) -> None:
        """Keep an ended API exchange as a conversation (on the turn service's thread)."""
        turns = self.turns
        if turns is None:
            return
        values = exchange.sampling.to_dict().items()
        settings = {k: v for k, v in values if k in SAVED and v is not None}
        if exchange.tokens:  # kept with the reply: it has probabilities (as a window turn)
            settings["logprobs"] = exchange.sampling.logprobs
        reply = ExchangeReply(
            exchange.reply, exchange.stats, exchange.error, exchange.tool_calls,
            exchange.reasoning, exchange.tokens,
        )  # fmt: skip

        def save() -> None:
            turns.record_exchange(exchange.system_prompt, exchange.messages, reply, settings)
            self.saved += 1

        turns.dispatch(save)

    @property
    def running(self) -> bool:
        """True while the server accepts requests."""
        return self._server is not None

    @property
    def url(self) -> str | None:
        """The base URL clients use, while running."""
        return self._server.url if self._server else None

    def start(
        self,
        host: str,
        port: int,
        api_key: str | None = None,
        save: bool = False,
        allowed_hosts: tuple[str, ...] = (),
        **options: Any,
    ) -> str:
        """Serve on ``host:port`` (``save``: keep each exchange as a conversation; ``options``:
        more ``ApiConfig`` fields; ``allowed_hosts``: more Host names than the bound one); what
        access it gives (BindError, OSError on failure)."""
        if self._server is not None:
            return self.access
        self.access = check_bind(host, api_key)
        hook = self._save if save else None
        config = ApiConfig(api_key=api_key, on_exchange=hook, **options)
        server = ApiServer(create_app(self.scheduler, config), host, port, allowed_hosts)
        server.start()
        log.info("API server started: %s (%s, saving exchanges: %s)", server.url, self.access, save)
        self._server = server
        if self.session is not None:
            self.session.lane = self.window_engine()
        return self.access

    def restore(self, config: dict[str, Any]) -> bool:
        """Serve as ``config`` (``SettingsService.api_server_config``) was left, if it was on;
        whether it runs. The API key is never stored: an address beyond loopback fails here
        (logged) and waits for the user to give a key in the API server panel."""
        if not config["enabled"]:
            return False
        host = config["host"] or DEFAULT_HOST
        port = config["port"] if config["port"] is not None else DEFAULT_PORT
        try:
            self.start(host, port, None, config["save"])
        except (BindError, OSError) as error:
            log.warning("API server not restored on %s:%s: %s", host, port, error)
        return self.running

    def stop(self) -> None:
        """Stop serving (running API replies end)."""
        server, self._server = self._server, None
        if self.session is not None:
            self.session.lane = None
        if server is not None:
            server.stop()
            log.info("API server stopped: %s", server.url)

    def requests(self) -> list[RequestInfo]:
        """Queued and running requests (the window's own included)."""
        return self.scheduler.requests()

    def window_engine(self) -> Engine:
        """The engine the window should reply through: the scheduler's priority lane."""
        return ScheduledEngine(self.scheduler)
