"""MCP servers through the official ``mcp`` SDK (2.x), configured like other MCP clients.

The configuration is a JSON file, ``mcp.json`` in the data root, in the common
``mcpServers`` shape, so a user can paste an existing one::

    {"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "."]},
        "web": {"url": "http://127.0.0.1:8000/mcp"},
        "old": {"command": "old-server", "disabled": true, "disabledTools": ["delete"]}}}

``command`` (with ``args``, ``env``, ``cwd``) starts a stdio server; ``url`` (``type``
"http"/"streamable-http", optional ``headers``) connects to a streamable-HTTP server.
``disabled`` and ``disabledTools`` switch a server or some of its tools off.

Each operation (list the tools, call one) opens its own session in a worker thread with
its own event loop, under a time limit, and closes it (a stdio server's process ends with
it). Stop (``stop_calls``) cancels the operations in flight at once. A server that cannot
start, crashes, hangs, or answers garbage therefore costs at most the time limit, and
always comes back as ``McpError`` with one line saying what happened
(for a stdio server, the last line it wrote to stderr): nothing an MCP server does can
raise anything else into the caller or block it forever.

A stdio server's stderr goes into a pipe read by a thread that keeps only its last
``STDERR_KEEP`` characters (a server flooding stderr costs no disk and no memory beyond
that). A server whose stdout carries lines that are not JSON-RPC gets ``GARBAGE_GRACE``
seconds to answer properly all the same, then the operation ends with "answered garbage"
and the first such line; the SDK's own log records lose their tracebacks and reach no
terminal (a ``NullHandler`` stands in for Python's last-resort printing to stderr).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO, cast

from chatdesk.tools.base import ToolOutcome, ToolSpec

CONFIG_NAME = "mcp.json"
LIST_TIMEOUT = 20.0
CALL_TIMEOUT = 60.0
MAX_STDERR_LINE = 300
STDERR_KEEP = 20_000
GARBAGE_GRACE = 1.0


class McpError(Exception):
    """A configuration or server problem, as one line for the user."""


@dataclass(frozen=True)
class ServerConfig:
    """One entry of ``mcpServers``."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    disabled: bool = False
    disabled_tools: frozenset[str] = frozenset()

    @property
    def transport(self) -> str:
        return "stdio" if self.command else "streamable-http"


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise McpError(f"{what} must be an object of strings")
    return {str(k): v for k, v in value.items()}


def _server(name: str, entry: Any) -> ServerConfig:
    if not isinstance(entry, dict):
        raise McpError(f"MCP server {name!r}: its entry must be an object")
    command, url = entry.get("command"), entry.get("url") or entry.get("serverUrl")
    if not isinstance(command, str) and not isinstance(url, str):
        raise McpError(f'MCP server {name!r}: needs a "command" (stdio) or a "url" (HTTP)')
    if entry.get("type") == "sse" or (isinstance(url, str) and url.rstrip("/").endswith("/sse")):
        raise McpError(f"MCP server {name!r}: SSE servers are not supported, use streamable HTTP")
    args = entry.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise McpError(f'MCP server {name!r}: "args" must be a list of strings')
    return ServerConfig(
        name=name,
        command=command if isinstance(command, str) else None,
        args=tuple(args),
        env=_strings(entry.get("env"), f'MCP server {name!r}: "env"'),
        cwd=entry.get("cwd") if isinstance(entry.get("cwd"), str) else None,
        url=url if isinstance(url, str) and not isinstance(command, str) else None,
        headers=_strings(entry.get("headers"), f'MCP server {name!r}: "headers"'),
        disabled=bool(entry.get("disabled", False)),
        disabled_tools=frozenset(t for t in entry.get("disabledTools") or [] if isinstance(t, str)),
    )


def parse_config(text: str) -> list[ServerConfig]:
    """The servers of a configuration text; McpError names the first problem."""
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as error:
        raise McpError(
            f"{CONFIG_NAME} is not valid JSON: line {error.lineno}: {error.msg}"
        ) from None
    servers = data.get("mcpServers", {} if not data else None) if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise McpError(f'{CONFIG_NAME} needs an object "mcpServers" naming the servers')
    return [_server(str(name), entry) for name, entry in servers.items()]


def load_config(path: Path) -> list[ServerConfig]:
    """The servers configured in ``path`` (none when the file does not exist)."""
    try:
        return parse_config(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise McpError(f"cannot read {path}: {error}") from None


def save_switches(
    path: Path, server: str, *, disabled: bool | None = None, disabled_tools: set[str] | None = None
) -> None:
    """Switch a server or its tools on/off in the file, keeping everything else in it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    entry = data["mcpServers"][server]
    if disabled is not None:
        entry["disabled"] = disabled
    if disabled_tools is not None:
        entry["disabledTools"] = sorted(disabled_tools)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


_IN_FLIGHT: set[threading.Event] = set()  # the stop signals of operations running now
_IN_FLIGHT_LOCK = threading.Lock()
STOPPED = "stopped by the user"


def stop_calls() -> None:
    """Stop pressed: every MCP operation in flight ends now (its task is cancelled, which
    closes its session; a stdio server's process ends with it)."""
    with _IN_FLIGHT_LOCK:
        for stop in _IN_FLIGHT:
            stop.set()


def _run_bounded[T](operation: Callable[[], Awaitable[T]], seconds: float, what: str) -> T:
    """Run ``operation`` on an event loop in a worker thread; McpError on any failure, when
    it takes longer than ``seconds``, or when Stop is pressed (``stop_calls``)."""
    outcome: list[Any] = []
    ready = threading.Event()
    stop = threading.Event()
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = []

    async def body() -> None:
        running.append((asyncio.get_running_loop(), asyncio.current_task()))  # type: ignore[arg-type]
        try:
            outcome.append(("ok", await asyncio.wait_for(operation(), seconds)))
        except BaseException as error:
            outcome.append(("error", error))
        ready.set()  # the answer is known: the session's teardown goes on alone

    def work() -> None:
        try:
            asyncio.run(body())
        except BaseException as error:
            outcome.append(("error", error))
        ready.set()

    worker = threading.Thread(target=work, name=f"mcp {what}", daemon=True)
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.add(stop)
    try:
        worker.start()
        _wait(ready, stop, seconds + 5.0, running)
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(stop)
    if stop.is_set():
        raise McpError(f"{what}: {STOPPED}")
    if not outcome:
        raise McpError(f"{what}: no answer within {seconds:g} s")
    kind, value = outcome[0]
    if kind == "error":
        raise McpError(f"{what}: {_describe(value, seconds)}")
    return value


class AnsweredGarbage(Exception):
    """The server wrote lines that are not JSON-RPC and gave no proper answer."""


class StderrTail:
    """A pipe for a server's stderr; a thread keeps the last ``keep`` characters of it."""

    def __init__(self, keep: int = STDERR_KEEP) -> None:
        read_end, write_end = os.pipe()
        self.file = open(write_end, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._chunks: collections.deque[str] = collections.deque(maxlen=max(keep // 4096, 1))
        reader = threading.Thread(target=self._read, args=(read_end,), daemon=True)
        reader.start()
        self._reader = reader

    def _read(self, handle: int) -> None:
        with open(handle, "rb", buffering=0) as pipe:
            while block := pipe.read(4096):
                self._chunks.append(block.decode("utf-8", errors="replace"))

    def last_line(self) -> str:
        """The last non-empty line the server wrote (after it closed its stderr, or now)."""
        with contextlib.suppress(OSError):
            self.file.close()
        self._reader.join(0.5)
        lines = [line.strip() for line in "".join(self._chunks).splitlines() if line.strip()]
        return f" (server said: {lines[-1][:MAX_STDERR_LINE]})" if lines else ""


class _Tracebackless(logging.Filter):
    """The SDK's records as one line each: no traceback, no stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {_describe(record.exc_info[1], 0)}"
            record.args = None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def quiet_sdk_logging() -> None:
    """Keep the mcp SDK's log records off the terminal and free of tracebacks."""
    logger = logging.getLogger("mcp")
    if not any(isinstance(f, _Tracebackless) for f in logger.filters):
        logger.addFilter(_Tracebackless())
        logger.addHandler(logging.NullHandler())


def _wait(
    ready: threading.Event, stop: threading.Event, seconds: float, running: list[Any]
) -> None:
    """Until the answer is known, the time is up, or Stop (then its task is cancelled)."""
    deadline = time.monotonic() + seconds
    while not ready.is_set() and time.monotonic() < deadline:
        if stop.wait(0.05):
            for loop, task in running:
                loop.call_soon_threadsafe(task.cancel)
            ready.wait(2.0)
            return
        ready.wait(0.0)


def _describe(error: BaseException, seconds: float) -> str:
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return f"no answer within {seconds:g} s"
    if isinstance(error, AnsweredGarbage):
        return f"answered garbage, not JSON-RPC: {str(error)[:100]!r}"
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:MAX_STDERR_LINE] if text else type(error).__name__


class McpServer:
    """One configured server: list its tools, call one (each in its own bounded session)."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        list_timeout: float = LIST_TIMEOUT,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        self.config = config
        self.list_timeout, self.call_timeout = list_timeout, call_timeout

    def list_tools(self) -> list[ToolSpec]:
        """Every tool the server offers (disabled ones included), as ToolSpecs."""
        result = self._session(lambda client: client.list_tools(), self.list_timeout, "list")
        specs = []
        for tool in getattr(result, "tools", None) or []:
            schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
            specs.append(
                ToolSpec(str(tool.name), str(tool.description or ""), schema, self.config.name)
            )
        return specs

    def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Call ``name``; a tool error comes back as an error outcome, a server problem
        as McpError."""
        result = self._session(
            lambda client: client.call_tool(name, arguments), self.call_timeout, f"call {name}"
        )
        text = "\n".join(_content_text(block) for block in result.content or [])
        if not text and result.structured_content is not None:
            text = json.dumps(result.structured_content, ensure_ascii=False)
        return ToolOutcome(
            text or "[no output]", bool(result.is_error), {"server": self.config.name}
        )

    def _session(self, use: Callable[[Any], Awaitable[Any]], seconds: float, what: str) -> Any:
        quiet_sdk_logging()
        errlog = StderrTail()

        async def operation() -> Any:
            return await _guarded(lambda handler: self._use(use, errlog, seconds, handler))

        try:
            return _run_bounded(operation, seconds, f"MCP server {self.config.name!r} {what}")
        except McpError as error:
            raise McpError(str(error) + errlog.last_line()) from None
        finally:
            errlog.last_line()  # closes our end of the pipe

    async def _use(
        self, use: Callable[[Any], Awaitable[Any]], errlog: StderrTail, seconds: float, handler: Any
    ) -> Any:
        from mcp import Client

        transport = self._transport(errlog.file)
        options = {"read_timeout_seconds": seconds, "message_handler": handler}
        async with Client(transport, **options) as client:
            return await use(client)

    def _transport(self, errlog: IO[str]) -> Any:
        if self.config.command:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(
                command=self.config.command,
                args=list(self.config.args),
                env=self.config.env or None,
                cwd=self.config.cwd,
                encoding_error_handler="replace",
            )
            return stdio_client(params, errlog=cast(TextIO, errlog))
        return self._http_transport()

    def _http_transport(self) -> Any:
        from mcp.client.streamable_http import streamable_http_client

        if not self.config.headers:
            return streamable_http_client(str(self.config.url))
        import httpx2

        http = httpx2.AsyncClient(headers=self.config.headers, timeout=self.call_timeout)
        return streamable_http_client(str(self.config.url), http_client=http)


def _content_text(block: Any) -> str:
    """A content block as text: text as it is, anything else (images...) named only."""
    if getattr(block, "type", None) == "text":
        return str(block.text)
    return f"[{getattr(block, 'type', 'unknown')} content not shown]"


async def _guarded[T](session: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``session(handler)``; when the handler sees a line that is not JSON-RPC and no
    proper answer follows within ``GARBAGE_GRACE`` seconds, AnsweredGarbage."""
    garbage: list[str] = []
    seen = asyncio.Event()

    async def handler(message: Any) -> None:
        if isinstance(message, Exception):
            garbage.append(_garbage_text(message))
            seen.set()

    main = asyncio.ensure_future(session(handler))
    watch = asyncio.ensure_future(seen.wait())
    await asyncio.wait({main, watch}, return_when=asyncio.FIRST_COMPLETED)
    if not main.done():
        await asyncio.wait({main}, timeout=GARBAGE_GRACE)
    watch.cancel()
    if main.done():
        return main.result()
    main.cancel()  # asyncio.run's teardown waits for it, after the caller has its answer
    raise AnsweredGarbage(garbage[0])


def _garbage_text(error: Exception) -> str:
    """The offending line, where the parse error quotes it."""
    text = str(error)
    marker = "input_value="
    line = text.split(marker, 1)[1].split(", input_type", 1)[0] if marker in text else text
    return line.strip("'\"")
