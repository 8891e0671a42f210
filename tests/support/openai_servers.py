"""Real OpenAI-compatible servers on 127.0.0.1 for the remote-engine tests and benchmarks.

``LlamaCppServer`` runs llama-cpp-python's own server (``python -m llama_cpp.server``) on a
free port, serving a GGUF model under the id ``MODEL_ID``. ``FaultProxy`` is a small real
HTTP server (Starlette on uvicorn) in front of it that passes requests through and, when
told, injects one fault kind: 429 with Retry-After, 5xx, 401, 404, a stream dropped after
N events, a malformed event, a stall (no answer at all, or silence mid-stream).
``serve_in_thread`` runs any ASGI app on a free port (the API tests use it too). The proxy
keeps every request body it passed on (``received``): what the server was sent.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from chatdesk.api.server import ApiServer

MODEL_ID = "starter"
START_TIMEOUT = 90.0


def require(*modules: str) -> None:
    """Skip the test unless these top-level modules are installed (without importing them:
    importing llama_cpp in the test process leaves files open at exit)."""
    import importlib.util

    import pytest

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaCppServer:
    """``python -m llama_cpp.server`` serving ``model`` on 127.0.0.1."""

    def __init__(self, model: Path, n_ctx: int = 2048, threads: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model), "--model_alias", MODEL_ID,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--verbose", "False",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise RuntimeError(f"llama_cpp.server exited: {error[-2000:]}")
            try:
                if httpx.get(self.url + "/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.close()
        raise RuntimeError("llama_cpp.server did not start in time")

    def close(self) -> None:
        """Stop the server."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


def serve_in_thread(app: Starlette, **ssl: str) -> ApiServer:
    """Run an ASGI app on a free 127.0.0.1 port (uvicorn, background thread)."""
    server = ApiServer(app, "127.0.0.1", free_port())  # type: ignore[arg-type]
    for key, value in ssl.items():
        setattr(server.server.config, key, value)
    server.start()
    return server


@dataclass
class Fault:
    """What the proxy does to the next requests (``times``: how many; -1: all)."""

    kind: str = "none"  # none, status, drop, malformed, stall, stall_mid
    status: int = 500
    body: str = '{"error": {"message": "injected failure"}}'
    retry_after: str | None = None
    after_events: int = 3
    times: int = -1
    path: str = "/chat/completions"  # only requests whose path contains this ("": all)
    seen: list[str] = field(default_factory=list)  # paths of requests received


class FaultProxy:
    """A pass-through HTTP proxy to ``upstream`` that injects ``self.fault``."""

    def __init__(self, upstream: str, **ssl: str) -> None:
        self.upstream = upstream.removesuffix("/v1")
        self.fault = Fault()
        self.received: list[tuple[str, bytes]] = []  # (path, body) of every request, in order
        app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])
        self.server = serve_in_thread(app, **ssl)
        scheme = "https" if ssl else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.port}/v1"

    def set(self, **changes: object) -> Fault:
        """Inject a new fault from now on."""
        self.fault = Fault(**changes)  # type: ignore[arg-type]
        return self.fault

    def _take(self, path: str) -> str:
        fault = self.fault
        if fault.kind == "none" or fault.times == 0 or fault.path not in path:
            return "none"
        if fault.times > 0:
            fault.times -= 1
        return fault.kind

    async def handle(self, request: Request) -> Response:
        self.fault.seen.append(request.url.path)
        self.received.append((request.url.path, await request.body()))
        kind = self._take(request.url.path)
        if kind == "status":
            headers = {"Retry-After": self.fault.retry_after} if self.fault.retry_after else {}
            return Response(self.fault.body, self.fault.status, headers, "application/json")
        if kind == "stall":
            await asyncio.sleep(3600)
        body = await request.body()
        client = httpx.AsyncClient(timeout=None)
        upstream = client.build_request(
            request.method,
            self.upstream + request.url.path,
            content=body,
            headers={"content-type": request.headers.get("content-type", "application/json")},
        )
        response = await client.send(upstream, stream=True)
        if "text/event-stream" not in response.headers.get("content-type", ""):
            data = await response.aread()
            await client.aclose()
            return Response(
                data, response.status_code, media_type=response.headers.get("content-type")
            )
        return StreamingResponse(
            self._events(client, response, kind), media_type="text/event-stream"
        )

    async def _events(
        self, client: httpx.AsyncClient, response: httpx.Response, kind: str
    ) -> AsyncIterator[bytes]:
        count = 0
        try:
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    count += 1
                    if count > self.fault.after_events and kind != "none":
                        if kind == "drop":
                            raise ConnectionAbortedError("injected drop")  # uvicorn cuts the stream
                        if kind == "malformed":
                            yield b"data: {not json\n\n"
                        if kind == "stall_mid":
                            await asyncio.sleep(3600)
                yield (line + "\n").encode()
        finally:
            await response.aclose()
            await client.aclose()


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), as (cert, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
