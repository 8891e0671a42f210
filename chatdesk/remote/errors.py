"""Every way talking to a remote server can fail, as one clear ``EngineError`` each.

Transport failures (``httpx`` exceptions) are told apart by their cause: a refused
connection, a name that does not resolve, a TLS certificate that does not verify, a
connection or read timeout, a stream cut mid-reply. HTTP error answers are read for the
server's own message (OpenAI-style ``{"error": {"message": ...}}``, or FastAPI's
``{"detail": ...}``, or plain text) and prefixed with what the status means for the user.
"""

from __future__ import annotations

import json
import socket
import ssl

import httpx

from chatdesk.engine.types import EngineError


class RemoteErrorCode:
    """The ``code`` values of remote ``EngineError`` s."""

    CONNECTION_REFUSED = "connection_refused"
    DNS = "dns_failure"
    TLS = "tls_failure"
    TIMEOUT = "timeout"
    CONNECTION = "connection_error"
    AUTH = "unauthorized"
    FORBIDDEN = "forbidden"
    MODEL_NOT_FOUND = "model_not_found"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    BAD_REQUEST = "bad_request"
    STREAM_CUT = "stream_cut"
    MALFORMED = "malformed_event"


MAX_SERVER_TEXT = 300  # characters of a server's error text quoted in a message


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def transport_error(error: httpx.HTTPError, url: str) -> EngineError:
    """A transport-level failure (no usable HTTP answer) as a clear error."""
    chain = _causes(error)
    text = " ".join(str(item) for item in chain).lower()
    if isinstance(error, httpx.ConnectTimeout):
        return EngineError(
            f"{url} did not accept a connection in time (connect timeout)",
            RemoteErrorCode.TIMEOUT,
        )
    if isinstance(error, httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
        return EngineError(f"{url} stopped answering (read timeout)", RemoteErrorCode.TIMEOUT)
    if any(isinstance(item, ssl.SSLError) for item in chain) or "certificate" in text:
        detail = next((str(i) for i in chain if isinstance(i, ssl.SSLError)), str(error))
        return EngineError(
            f"TLS failure talking to {url}: {detail} (verification stays on; give the server's"
            " CA certificate with --ca-bundle if it uses a private CA)",
            RemoteErrorCode.TLS,
        )
    if any(isinstance(item, socket.gaierror) for item in chain) or _looks_like_dns(text):
        return EngineError(f"cannot resolve the host name of {url}", RemoteErrorCode.DNS)
    if any(isinstance(item, ConnectionRefusedError) for item in chain) or "refused" in text:
        return EngineError(
            f"connection refused by {url} (is the server running?)",
            RemoteErrorCode.CONNECTION_REFUSED,
        )
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError):
        return EngineError(
            f"{url} closed the connection mid-reply ({error})", RemoteErrorCode.STREAM_CUT
        )
    return EngineError(f"cannot reach {url}: {error}", RemoteErrorCode.CONNECTION)


def _looks_like_dns(text: str) -> bool:
    return any(
        phrase in text
        for phrase in ("name or service not known", "nodename nor servname", "getaddrinfo")
    )


def server_message(body: bytes) -> str:
    """The server's own words in an error body, shortened."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:MAX_SERVER_TEXT]
    found = _message_in(data)
    return (found if found is not None else text)[:MAX_SERVER_TEXT]


def _message_in(data: object) -> str | None:
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            if key in data:
                inner = data[key]
                return inner if isinstance(inner, str) else _message_in(inner) or str(inner)
    return None


def status_error(status: int, body: bytes, url: str, model: str | None) -> EngineError:
    """An HTTP error answer as a clear error (the server's message quoted)."""
    said = server_message(body)
    suffix = f": {said}" if said else ""
    if status == 401:
        return EngineError(
            f"{url} refused the API key (401 unauthorized){suffix}", RemoteErrorCode.AUTH
        )
    if status == 403:
        return EngineError(
            f"{url} denied access (403 forbidden){suffix}", RemoteErrorCode.FORBIDDEN
        )
    if status == 404:
        if model and ("model" in said.lower() or not said):
            return EngineError(
                f"the server does not serve model {model!r} (404){suffix}",
                RemoteErrorCode.MODEL_NOT_FOUND,
            )
        return EngineError(f"{url} has no such endpoint (404){suffix}", RemoteErrorCode.NOT_FOUND)
    if status == 429:
        return EngineError(
            f"{url} is rate limiting requests (429 too many requests){suffix}",
            RemoteErrorCode.RATE_LIMITED,
        )
    if status >= 500:
        return EngineError(
            f"the server failed ({status} server error){suffix}", RemoteErrorCode.SERVER_ERROR
        )
    return EngineError(
        f"the server rejected the request ({status}){suffix}", RemoteErrorCode.BAD_REQUEST
    )
