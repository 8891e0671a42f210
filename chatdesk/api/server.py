"""Running the API app with uvicorn: bind-address rules, a background thread, the URL.

Loopback (127.0.0.1, ::1, localhost) is the default and needs no key. Any other address
makes the model reachable from the network, so it is refused unless an API key is set;
with one, every request must send ``Authorization: Bearer KEY`` and the start message
says so.

Every request's ``Host`` header must name the server as bound (``localhost``,
``127.0.0.1``, ``[::1]`` or the configured address, any port): a web page that rebinds its
own DNS name to 127.0.0.1 (DNS rebinding) sends its own name and gets 421. ``allowed_hosts``
adds names (``*``: any); a server bound to every address (``0.0.0.0``, ``::``) needs a key
and takes any name. ``ApiServer`` runs uvicorn on a thread (the window's switch, tests) or in the
foreground (``chatdesk serve``).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from chatdesk.api import errors
from chatdesk.api.defaults import DEFAULT_HOST, DEFAULT_PORT

START_TIMEOUT = 15.0


class BindError(ValueError):
    """A bind address that is not allowed as given (one-line reason)."""


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> str:
    """What the server tells the user about access; BindError when no key guards the network."""
    if is_loopback(host):
        return "only this computer can connect (loopback)" + (
            "; API key required" if api_key else ""
        )
    if not api_key:
        raise BindError(
            f"binding to {host} lets other machines use the model: set an API key "
            "(--api-key-env VAR) or bind to 127.0.0.1"
        )
    return (
        f"listening on {host}, reachable from the network: "
        "clients must send Authorization: Bearer <key>"
    )


def check_port(port: int) -> None:
    """BindError (one line) for a port no socket can have."""
    if not 0 <= port <= 65535:
        raise BindError(f"port {port} does not exist: ports go from 1 to 65535 (0: any free one)")


def check_free(host: str, port: int) -> None:
    """BindError (one line) when ``host:port`` cannot be listened on now, e.g. another
    program has the port (``chatdesk serve`` asks before it loads the model)."""
    try:
        family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise BindError(
                f"port {port} is already in use on {host}; choose another with --port"
            ) from None
        raise BindError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ANY_ADDRESS = ("0.0.0.0", "::", "")


def host_names(bound: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The Host names a server bound to ``bound`` answers to (None: any)."""
    names = {name.strip().strip("[]").lower() for name in extra}
    if "*" in names or bound.strip("[]") in ANY_ADDRESS:
        return None
    return frozenset({*LOOPBACK_NAMES, bound.strip("[]").lower(), *names})


def host_of(header: str) -> str:
    """``example.com:8080`` -> ``example.com``; ``[::1]:80`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostCheck:
    """ASGI middleware: 421 for a request whose Host is not one of ``names``."""

    def __init__(self, app: ASGIApp, names: frozenset[str]) -> None:
        self.app, self.names = app, names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        given = headers.get(b"host", b"").decode("latin-1")
        if scope["type"] != "http" or host_of(given) in self.names:
            await self.app(scope, receive, send)
            return
        message = (
            f"Host {given[:100]!r} is not a name of this server (DNS rebinding protection); "
            "allow it with --allow-host"
        )
        await errors.error_response(421, message, code="misdirected_request")(scope, receive, send)


class ApiServer:
    """uvicorn serving ``app`` on ``host:port`` (port 0: a free one)."""

    def __init__(
        self,
        app: FastAPI,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        check_port(port)
        names = host_names(host, allowed_hosts)
        served: ASGIApp = app if names is None else HostCheck(app, names)
        config = uvicorn.Config(served, host=host, port=port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.host = host
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound."""
        servers = getattr(self.server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    @property
    def url(self) -> str:
        """The base URL clients use (``.../v1``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def run(self) -> None:
        """Serve in the foreground until interrupted."""
        self.server.run()

    def start(self) -> None:
        """Serve on a background thread; returns once it accepts connections."""
        self._thread = threading.Thread(target=self.server.run, name="api-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError(
                    f"the API server could not start on {self.host}:{self.server.config.port}"
                )
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (running streams are closed) and wait for the thread."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self.server.force_exit = True
                self._thread.join(timeout)
