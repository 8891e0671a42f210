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

Operations (list the tools, call one) go through one session per server, opened on
first use, reused while it is used, closed after ``IDLE_CLOSE`` seconds with nothing in
flight, dropped (and re-opened by the next operation) when it fails, closed at exit
(``chatdesk.tools.mcp_sessions`` explains how). Stop (``stop_calls``) cancels the
operations in flight at once. Every operation runs under a time limit; a server that cannot
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

import collections
import contextlib
import json
import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO, cast

from chatdesk.tools.base import ToolOutcome, ToolSpec
from chatdesk.tools.mcp_sessions import (
    IDLE_CLOSE,
    SESSIONS,
    STOPPED,
    McpError,
    close_sessions,
    describe_error,
    stop_calls,
)

__all__ = ["STOPPED", "McpError", "close_sessions", "stop_calls"]  # re-exported for callers

CONFIG_NAME = "mcp.json"
LIST_TIMEOUT = 20.0
CALL_TIMEOUT = 60.0
MAX_STDERR_LINE = 300
STDERR_KEEP = 20_000
_BORDERS = re.compile(r"^[\s\u2500-\u257f|+*=#-]+|[\s\u2500-\u257f|+*=#-]+$")  # box drawing


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

    def close(self) -> None:
        """Close our end of the pipe (the reader ends once the server's end closes too)."""
        with contextlib.suppress(OSError):
            self.file.close()

    def last_line(self) -> str:
        """The server's last telling stderr line (after it closed its stderr, or now)."""
        self.close()
        self._reader.join(0.5)
        said = telling_line("".join(self._chunks))
        return f" (server said: {said[:MAX_STDERR_LINE]})" if said else ""


def telling_line(text: str) -> str:
    """The last line with a letter in it, its borders cut (a rich traceback ends in a box
    border; its "SystemExit: 3" line says more); else the last non-empty line."""
    lines = [cut for line in text.splitlines() if (cut := _BORDERS.sub("", line))]
    worded = [line for line in lines if any(c.isalpha() for c in line)]
    return (worded or lines or [""])[-1]


class _Tracebackless(logging.Filter):
    """The SDK's records as one line each: no traceback, no stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {describe_error(record.exc_info[1], 0)}"
            record.args = None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def quiet_sdk_logging() -> None:
    """Keep the mcp SDK's log records off the terminal and free of tracebacks."""
    logger = logging.getLogger("mcp")
    if not any(isinstance(f, _Tracebackless) for f in logger.filters):
        logger.addFilter(_Tracebackless())
        logger.addHandler(logging.NullHandler())


_STDERR: dict[str, StderrTail] = {}  # the stderr of each server's latest session, by key


class McpServer:
    """One configured server: list its tools, call one (through its shared session)."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        list_timeout: float = LIST_TIMEOUT,
        call_timeout: float = CALL_TIMEOUT,
        idle_close: float = IDLE_CLOSE,
    ) -> None:
        self.config = config
        self.list_timeout, self.call_timeout = list_timeout, call_timeout
        self.idle_close = idle_close
        self._key = repr(config)  # a changed entry in mcp.json gets its own session

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
        label = f"MCP server {self.config.name!r} {what}"
        try:
            return SESSIONS.run(self._key, self._client, use, seconds, self.idle_close)
        except McpError as error:  # stopped
            raise McpError(f"{label}: {error}") from None
        except Exception as error:  # the session was dropped: its stderr is complete
            stderr = _STDERR.get(self._key)
            said = stderr.last_line() if stderr else ""
            raise McpError(f"{label}: {describe_error(error, seconds)}{said}") from None

    @contextlib.asynccontextmanager
    async def _client(self, handler: Any) -> AsyncIterator[Any]:
        """The SDK client of one session (its transport: the server's process, or HTTP)."""
        from mcp import Client

        errlog = _STDERR[self._key] = StderrTail()
        try:
            async with Client(self._transport(errlog.file), message_handler=handler) as client:
                yield client
        finally:
            errlog.close()

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
