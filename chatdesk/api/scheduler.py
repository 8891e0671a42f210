"""One engine, many callers: replies run one at a time, fairly, the window first.

The engine holds one model and generates one reply at a time, so concurrent API requests
must queue. ``FairScheduler`` keeps one queue per client (the request's ``user``, else the
remote address) and starts the next reply round-robin over clients (the one served least
recently goes first), so a client that sends fifty requests cannot make another wait
behind all fifty. A priority lane (used by the window)
is always served first: with the API server on, a reply typed in the window waits at most
for the one API reply already running. While the window prepares a turn on the same engine
(documents embedded and counted before the reply is asked for), it ``hold``s the scheduler:
no API reply starts until the window's is queued, else each API reply that ended meanwhile
would start the next before it.

Each request gets a ``ReplyStream`` at once (the ``ReplyHandle`` every caller knows);
events are forwarded from the engine's reply when its turn comes. Cancelling a queued
request removes it; cancelling a running one cancels the engine's reply (the engine stops
within a token). ``requests()`` lists what is queued and running, for the window.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from chatdesk.engine.client import ReplyStream
from chatdesk.engine.interface import Engine, ReplyHandle, WarmsConversations
from chatdesk.engine.request import ChatRequest, EngineCapabilities, RenderedPrompt
from chatdesk.engine.types import (
    EngineError,
    LoadOptions,
    ModelInfo,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    ReplyStats,
    TextDelta,
)

PRIORITY_CLIENT = "window"
Starter = Callable[[], ReplyHandle]


@dataclass(eq=False)
class Ticket:
    """One request: queued, then running, then gone."""

    id: int
    client: str
    label: str
    start: Starter
    stream: ReplyStream
    queued_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    chunks: int = 0
    inner: ReplyHandle | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class RequestInfo:
    """A request as the window shows it."""

    id: int
    client: str
    label: str
    state: str  # "queued" or "running"
    waited: float  # seconds in the queue
    chunks: int  # text events received so far


class FairScheduler:
    """Runs replies on ``engine`` one at a time: priority lane, then clients round-robin."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._priority: deque[Ticket] = deque()
        self._clients: dict[str, deque[Ticket]] = {}
        self._served: dict[str, int] = {}  # client -> turn it was last served
        self._turns = itertools.count()
        self._running: Ticket | None = None
        self._holds = 0  # turns being prepared for the priority lane
        self.completed = 0

    def generate(
        self, client: str, request: ChatRequest, *, priority: bool = False, label: str = ""
    ) -> ReplyStream:
        """Queue a reply; its handle comes back at once and streams when its turn comes.
        ``request`` reaches the engine unchanged."""
        engine = self.engine
        return self.submit(client, lambda: engine.generate(request), priority=priority, label=label)

    def submit(
        self, client: str, start: Starter, *, priority: bool = False, label: str = ""
    ) -> ReplyStream:
        """Queue any engine call that returns a reply handle (chat or raw completion)."""
        ticket_id = next(self._ids)
        ticket = Ticket(ticket_id, client, label, start, ReplyStream(ticket_id, self._cancel))
        with self._lock:
            if priority:
                self._priority.append(ticket)
            else:
                self._clients.setdefault(client, deque()).append(ticket)
        self._start_next()
        return ticket.stream

    def hold(self) -> Callable[[], None]:
        """Start no API reply until the returned function is called (once): the window is
        preparing a turn whose reply goes first. Priority replies still start."""
        with self._lock:
            self._holds += 1
        done = threading.Event()

        def release() -> None:
            if done.is_set():
                return
            done.set()
            with self._lock:
                self._holds -= 1
            self._start_next()

        return release

    def warm(self, request: ChatRequest) -> None:
        """Warm ``request``'s conversation on the engine where it can, unless a reply is
        queued (called as a reply ends: a hint, which the next reply cancels)."""
        with self._lock:
            queued = bool(self._priority or self._clients)
        if not queued and isinstance(self.engine, WarmsConversations):
            self.engine.warm(request)

    def requests(self) -> list[RequestInfo]:
        """The running request, then the queued ones in the order they will run."""
        now = time.monotonic()
        with self._lock:
            running = [self._running] if self._running else []
            queued = [*self._priority, *(t for q in self._clients.values() for t in q)]
        return [
            RequestInfo(
                t.id,
                t.client,
                t.label,
                "running" if t in running else "queued",
                (t.started_at or now) - t.queued_at,
                t.chunks,
            )
            for t in [*running, *queued]
        ]

    def _pop(self) -> Ticket | None:
        """The priority lane first; then, unless held, the client served least recently
        (lock held)."""
        if self._priority:
            return self._priority.popleft()
        if self._holds or not self._clients:
            return None
        client = min(self._clients, key=lambda c: (self._served.get(c, -1), self._clients[c][0].id))
        waiting = self._clients[client]
        ticket = waiting.popleft()
        if not waiting:
            del self._clients[client]
        self._served[client] = next(self._turns)
        return ticket

    def _start_next(self) -> None:
        with self._lock:
            if self._running is not None:
                return
            ticket = self._pop()
            if ticket is None:
                return
            self._running = ticket
            ticket.started_at = time.monotonic()
        try:
            inner = ticket.start()
        except Exception as error:  # an engine that raises instead of failing the reply
            inner = ReplyStream(0, lambda _id: None)
            failure = error if isinstance(error, EngineError) else EngineError(str(error))
            inner.deliver(ReplyFailed(failure))
        ticket.inner = inner
        inner.on_event(lambda event: self._forward(ticket, event))
        if ticket.cancelled:
            inner.cancel()

    def _forward(self, ticket: Ticket, event: ReplyEvent) -> None:
        if isinstance(event, TextDelta):
            ticket.chunks += 1
        ticket.stream.deliver(event)
        if isinstance(event, ReplyDone | ReplyFailed):
            with self._lock:
                if self._running is ticket:
                    self._running = None
                    self.completed += 1
            self._start_next()

    def _cancel(self, ticket_id: int) -> None:
        with self._lock:
            ticket = self._find_queued(ticket_id)
            running = self._running if self._running and self._running.id == ticket_id else None
        if ticket is not None:
            ticket.stream.deliver(ReplyDone(ReplyStats(finish_reason="cancelled")))
        elif running is not None:
            running.cancelled = True
            if running.inner is not None:
                running.inner.cancel()

    def _find_queued(self, ticket_id: int) -> Ticket | None:
        """Remove and return a queued ticket (lock held)."""
        for ticket in self._priority:
            if ticket.id == ticket_id:
                self._priority.remove(ticket)
                return ticket
        for client, waiting in list(self._clients.items()):
            for ticket in waiting:
                if ticket.id == ticket_id:
                    waiting.remove(ticket)
                    if not waiting:
                        del self._clients[client]
                    return ticket
        return None


class ScheduledEngine:
    """An ``Engine`` whose replies go through a scheduler lane (the window's, by default).

    Everything but ``generate`` is the underlying engine's; the window swaps its engine
    for this while the API server runs, so its replies take the priority lane.
    """

    def __init__(
        self, scheduler: FairScheduler, client: str = PRIORITY_CLIENT, priority: bool = True
    ) -> None:
        self.scheduler = scheduler
        self.client = client
        self.priority = priority

    @property
    def model_info(self) -> ModelInfo | None:
        """The underlying engine's model."""
        return self.scheduler.engine.model_info

    def start(self) -> None:
        """Start the underlying engine."""
        self.scheduler.engine.start()

    def load(self, options: LoadOptions) -> Future[ModelInfo]:
        """Load on the underlying engine."""
        return self.scheduler.engine.load(options)

    def unload(self) -> Future[None]:
        """Unload on the underlying engine."""
        return self.scheduler.engine.unload()

    def status(self) -> Future[dict[str, Any]]:
        """The underlying engine's status."""
        return self.scheduler.engine.status()

    @property
    def capabilities(self) -> EngineCapabilities:
        """The underlying engine's (the lane adds and removes nothing)."""
        return self.scheduler.engine.capabilities

    def render(self, request: ChatRequest) -> Future[RenderedPrompt]:
        """The underlying engine's rendering."""
        return self.scheduler.engine.render(request)

    def count_tokens(self, texts: Sequence[str]) -> Future[list[int]]:
        """The underlying engine's count (not through the lane: a count is no reply)."""
        return self.scheduler.engine.count_tokens(texts)

    def hold(self) -> Callable[[], None]:
        """Hold the scheduler while a turn for this lane is prepared (a priority lane's
        only: another lane's turn waits its turn anyway)."""
        return self.scheduler.hold() if self.priority else lambda: None

    def generate(self, request: ChatRequest) -> ReplyStream:
        """A reply through the scheduler's lane (``request`` passed on unchanged)."""
        return self.scheduler.generate(
            self.client, request, priority=self.priority, label=self.client
        )

    def embedder(self) -> Engine:
        """The engine behind the lane (which may also embed documents)."""
        return self.scheduler.engine

    def close(self, timeout: float = 5.0) -> None:
        """Nothing of its own to close (the underlying engine belongs to its owner)."""
        del timeout
