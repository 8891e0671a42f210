"""MCP sessions: one per server, opened on first use, kept while used, closed when idle.

Every session lives on one event loop, run by one daemon thread ("mcp sessions"). A
session is a task that enters the SDK's ``Client`` (for a stdio server: its process) and
holds it open until it is told to close; each operation (list the tools, call one) is
another task on that loop using the session's client, so N operations on a server cost
one server start. The caller's thread waits for its operation under a time limit.

- **Idle**: a session with nothing in flight for its ``idle_close`` seconds
  (``IDLE_CLOSE`` unless the server says otherwise) is closed; a stdio server's process
  ends with it. The next operation opens a new one.
- **Broken**: an operation that fails (timeout, transport error, garbage on stdout, the
  server died) drops its session, so the next operation starts the server again. An
  error *answer* from a live server (``MCPError`` from the SDK) keeps the session.
  A session whose holder task has ended (its transport closed) is never reused, and one
  left quiet for ``PING_AFTER`` seconds answers a ping before it is used (a server killed
  while idle is started again without the call seeing an error).
- **Stop** (``stop_calls``): every operation in flight is cancelled at once and answers
  "stopped by the user"; the SDK tells the server (``notifications/cancelled``) and the
  session stays open for later calls.
- **Exit**: ``close_sessions`` closes every session (``AppServices.close`` and an
  ``atexit`` hook call it, so the window and the command line leave no server behind).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

IDLE_CLOSE = 300.0  # seconds a session with nothing in flight stays open
PING_AFTER = 2.0  # a session quiet this long is pinged before it is used again
PING_WAIT = 3.0
GARBAGE_GRACE = 1.0
STOPPED = "stopped by the user"
MAX_ERROR_LINE = 300
_CLOSE_WAIT = 5.0


class McpError(Exception):
    """A configuration or server problem, as one line for the user."""


class AnsweredGarbage(Exception):
    """The server wrote lines that are not JSON-RPC and gave no proper answer."""


Opener = Callable[[Callable[[Any], Awaitable[None]]], Any]
"""Builds the SDK ``Client`` (an async context manager) for a server, given the message
handler that watches for garbage."""


@dataclass(eq=False)
class _Session:
    """One open (or opening) session: its client, what is in flight, when last used."""

    key: str
    idle_close: float
    client: Any = None
    error: BaseException | None = None
    in_flight: int = 0
    last_used: float = field(default_factory=time.monotonic)
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    garbage: list[str] = field(default_factory=list)
    garbage_seen: asyncio.Event = field(default_factory=asyncio.Event)
    holder: asyncio.Task[None] | None = None

    @property
    def usable(self) -> bool:
        return not self.closing.is_set() and not (self.holder and self.holder.done())

    async def handle(self, message: Any) -> None:
        """The SDK's message handler: exceptions are lines that were not JSON-RPC."""
        if isinstance(message, Exception):
            self.garbage.append(_garbage_text(message))
            self.garbage_seen.set()

    async def hold(self, opener: Opener) -> None:
        """Open the client, keep it until told to close; the transport closes with it."""
        try:
            async with opener(self.handle) as client:
                self.client = client
                self.opened.set()
                await self.closing.wait()
        except BaseException as error:
            self.error = error
        finally:
            self.opened.set()

    async def ready(self) -> Any:
        """The client, once open (the opening error, raised, when it failed)."""
        await _guarded(self, self.opened.wait())
        if self.client is None or not self.usable:
            raise self.error or ConnectionError("the session closed")
        return self.client


class SessionPool:
    """The sessions, by server key, on one event loop in one daemon thread."""

    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._in_flight: set[concurrent.futures.Future[Any]] = set()
        self._closing: set[asyncio.Future[None]] = set()  # idle sessions being closed
        self.starts = 0  # sessions opened (for tests and diagnostics)

    # --- from any thread -----------------------------------------------------------------
    def run[T](
        self,
        key: str,
        opener: Opener,
        use: Callable[[Any], Awaitable[T]],
        seconds: float,
        idle_close: float = IDLE_CLOSE,
    ) -> T:
        """``use(client)`` on the server's session; raises the failure (TimeoutError,
        the transport's error, AnsweredGarbage), or McpError(STOPPED) when Stop cancels it."""
        future = asyncio.run_coroutine_threadsafe(
            self._operate(key, opener, use, seconds, idle_close), self._running_loop()
        )
        with self._lock:
            self._in_flight.add(future)
        try:
            return future.result(seconds + _CLOSE_WAIT + 5.0)
        except concurrent.futures.CancelledError:
            raise McpError(STOPPED) from None
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError from None
        finally:
            with self._lock:
                self._in_flight.discard(future)

    def stop(self) -> None:
        """Cancel every operation in flight (their sessions stay open)."""
        with self._lock:
            for future in list(self._in_flight):
                future.cancel()

    def close_all(self, wait: float = 10.0) -> None:
        """Close every session and wait (up to ``wait`` s) for their transports to end."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return
        done = asyncio.run_coroutine_threadsafe(self._close_all(), loop)
        try:
            done.result(wait)
        except (concurrent.futures.TimeoutError, RuntimeError):
            done.cancel()

    def open_count(self) -> int:
        """Sessions open or opening now."""
        return sum(1 for s in list(self._sessions.values()) if s.usable)

    # --- on the loop ---------------------------------------------------------------------
    async def _operate[T](
        self,
        key: str,
        opener: Opener,
        use: Callable[[Any], Awaitable[T]],
        seconds: float,
        idle_close: float,
    ) -> T:
        held = [self._session(key, opener, idle_close)]  # the session this operation holds
        held[0].in_flight += 1
        try:
            async with asyncio.timeout(seconds):
                await self._checked(held, opener)
                return await _guarded(held[0], use(held[0].client))
        except asyncio.CancelledError:
            raise  # Stop: the SDK cancels the request; the session stays
        except Exception as error:
            if not _answered(error):
                await self._drop(held[0])
            raise
        finally:
            session = held[0]
            session.in_flight -= 1
            session.last_used = time.monotonic()
            asyncio.get_running_loop().call_later(session.idle_close, self._idle, session)

    async def _checked(self, held: list[_Session], opener: Opener) -> None:
        """Wait until the held session is open; one left quiet for ``PING_AFTER`` s answers
        a ping first, else (its server died meanwhile) a new one takes its place."""
        session = held[0]
        fresh = session.client is None
        await session.ready()
        if fresh or time.monotonic() - session.last_used < PING_AFTER:
            return
        try:
            await asyncio.wait_for(session.client.send_ping(), PING_WAIT)
            return
        except (Exception, TimeoutError):
            session.in_flight -= 1
            await self._drop(session)
        held[0] = self._session(session.key, opener, session.idle_close)
        held[0].in_flight += 1
        await held[0].ready()

    def _session(self, key: str, opener: Opener, idle_close: float) -> _Session:
        session = self._sessions.get(key)
        if session is None or not session.usable:
            session = _Session(key, idle_close)
            session.holder = asyncio.ensure_future(session.hold(opener))
            self._sessions[key] = session
            self.starts += 1
        return session

    def _idle(self, session: _Session) -> None:
        quiet = time.monotonic() - session.last_used >= session.idle_close - 0.01
        if session.in_flight == 0 and quiet and session.usable:
            self._closing.add(task := asyncio.ensure_future(self._drop(session)))
            task.add_done_callback(self._closing.discard)

    async def _drop(self, session: _Session) -> None:
        """Close a session and wait (bounded) for its transport to end."""
        if self._sessions.get(session.key) is session:
            del self._sessions[session.key]
        session.closing.set()
        if session.holder and not session.holder.done():
            _, pending = await asyncio.wait({session.holder}, timeout=_CLOSE_WAIT)
            for task in pending:
                task.cancel()

    async def _close_all(self) -> None:
        await asyncio.gather(*(self._drop(s) for s in list(self._sessions.values())))

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                started = threading.Event()
                loop.call_soon(started.set)
                threading.Thread(target=loop.run_forever, name="mcp sessions", daemon=True).start()
                started.wait(5.0)
                self._loop = loop
            return self._loop


def _answered(error: BaseException) -> bool:
    """An error answer from a live server (unknown tool, bad arguments): keep its session.
    The SDK's own "connection closed" and "request timeout" mean the session is gone."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

    return isinstance(error, MCPError) and error.code not in (CONNECTION_CLOSED, REQUEST_TIMEOUT)


async def _guarded[T](session: _Session, work: Awaitable[T]) -> T:
    """Await ``work``; when the session sees a line that is not JSON-RPC and no proper
    answer follows within ``GARBAGE_GRACE`` seconds, AnsweredGarbage."""
    main = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(session.garbage_seen.wait())
    try:
        await asyncio.wait({main, watch}, return_when=asyncio.FIRST_COMPLETED)
        if not main.done():
            await asyncio.wait({main}, timeout=GARBAGE_GRACE)
    finally:
        watch.cancel()
        if not main.done():
            main.cancel()
    if main.cancelled() or not main.done():
        raise AnsweredGarbage(session.garbage[0] if session.garbage else "")
    session.garbage_seen.clear()
    return main.result()


def _garbage_text(error: Exception) -> str:
    """The offending line, where the parse error quotes it."""
    text = str(error)
    marker = "input_value="
    line = text.split(marker, 1)[1].split(", input_type", 1)[0] if marker in text else text
    return line.strip("'\"")


def describe_error(error: BaseException, seconds: float) -> str:
    """A failure as one short line."""
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return f"no answer within {seconds:g} s"
    if isinstance(error, AnsweredGarbage):
        return f"answered garbage, not JSON-RPC: {str(error)[:100]!r}"
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    if str(error) == "Connection closed":  # the SDK's words when the transport ended
        return "the server closed the connection (it ended or crashed)"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:MAX_ERROR_LINE] if text else type(error).__name__


SESSIONS = SessionPool()


def stop_calls() -> None:
    """Stop pressed: every MCP operation in flight ends now ("stopped by the user")."""
    SESSIONS.stop()


def close_sessions() -> None:
    """Close every MCP session (a stdio server's process ends with its session)."""
    SESSIONS.close_all()


atexit.register(close_sessions)
