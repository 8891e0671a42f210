"""The window's API-server switch: ChatDesk's OpenAI-compatible API over the window's engine.

``ApiServerService`` owns a ``FairScheduler`` over the engine the window uses, so the API
and the window share one model in memory. The window sends its own replies through
``window_engine()`` (the scheduler's priority lane): with the server on, a reply typed in
the window waits at most for the API reply already running; with it off, the lane is
empty and replies start at once. ``requests()`` lists what is queued and running.
"""

from __future__ import annotations

from chatdesk.api.app import ApiConfig, create_app
from chatdesk.api.scheduler import FairScheduler, RequestInfo, ScheduledEngine
from chatdesk.api.server import ApiServer, BindError, check_bind
from chatdesk.engine.interface import Engine

__all__ = ["ApiServerService", "BindError", "RequestInfo"]


class ApiServerService:
    """Starts and stops the API server; reports its URL and running requests."""

    def __init__(self, engine: Engine) -> None:
        self.scheduler = FairScheduler(engine)
        self._server: ApiServer | None = None
        self.access = ""

    @property
    def running(self) -> bool:
        """True while the server accepts requests."""
        return self._server is not None

    @property
    def url(self) -> str | None:
        """The base URL clients use, while running."""
        return self._server.url if self._server else None

    def start(self, host: str, port: int, api_key: str | None = None) -> str:
        """Serve on ``host:port``; what access it gives (BindError, OSError on failure)."""
        if self._server is not None:
            return self.access
        self.access = check_bind(host, api_key)
        server = ApiServer(create_app(self.scheduler, ApiConfig(api_key=api_key)), host, port)
        server.start()
        self._server = server
        return self.access

    def stop(self) -> None:
        """Stop serving (running API replies end)."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def requests(self) -> list[RequestInfo]:
        """Queued and running requests (the window's own included)."""
        return self.scheduler.requests()

    def window_engine(self) -> ScheduledEngine:
        """The engine the window should reply through: the scheduler's priority lane."""
        return ScheduledEngine(self.scheduler)
