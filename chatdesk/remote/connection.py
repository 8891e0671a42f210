"""One remote server: its address, an HTTP client for it, and bounded retries.

``httpx`` is used directly rather than through the ``openai`` package: ChatDesk needs
endpoints outside the OpenAI API (``/tokenize``, llama-server's ``/props``), the raw
server-sent events (so a malformed event or a cut stream is reported as exactly that with
the partial reply kept, instead of surfacing as a library exception), its own
``Retry-After`` handling that a Stop can interrupt, and the fewest layers per token (the
``openai`` client is itself built on httpx; the benchmark compares the two).

TLS verification is always on; a custom CA bundle (``ca_bundle``) extends nothing but
replaces the trust store for that one server. 429 and 503 answers are retried at most
``MAX_RETRIES`` times, waiting what ``Retry-After`` says (seconds or an HTTP date) when it
is at most ``MAX_RETRY_WAIT`` seconds, else 1, 2, 4 s; a longer demanded wait is an error
that says how long.
"""

from __future__ import annotations

import email.utils
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from chatdesk.engine.types import EngineError
from chatdesk.remote.errors import RemoteErrorCode, status_error, transport_error

MAX_RETRIES = 3
MAX_RETRY_WAIT = 30.0  # seconds; a server asking for longer gets an error, not a hang
RETRY_STATUSES = frozenset({429, 503})
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 120.0  # a big prompt on a busy server can take a while to start


class AddressError(ValueError):
    """A base URL that is not an http(s) URL with a host."""


def normalize_base_url(url: str) -> str:
    """``http(s)://host[:port]/v1`` form: scheme and host required, ``/v1`` added if no path."""
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressError(f"not an http(s) URL with a host: {url!r}")
    if parts.query or parts.fragment:
        raise AddressError(f"a base URL has no query or fragment: {url!r}")
    return text if parts.path else text + "/v1"


def root_url(base_url: str) -> str:
    """The server root: the base URL without a trailing ``/v1``."""
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


@dataclass(frozen=True)
class ServerAddress:
    """Where a server is and how to talk to it."""

    base_url: str
    api_key: str | None = None
    ca_bundle: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT


def retry_delay(response: httpx.Response, attempt: int) -> float:
    """Seconds to wait before retrying: Retry-After (seconds or date), else 1, 2, 4..."""
    value = response.headers.get("retry-after", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    return float(2**attempt)


class Connection:
    """An HTTP client bound to one server (thread-safe; one per engine)."""

    def __init__(self, address: ServerAddress) -> None:
        self.address = address
        self.base_url = normalize_base_url(address.base_url)
        headers = {"Accept": "application/json"}
        if address.api_key:
            headers["Authorization"] = f"Bearer {address.api_key}"
        verify: ssl.SSLContext | bool = True
        if address.ca_bundle:
            verify = ssl.create_default_context(cafile=address.ca_bundle)
        self.client = httpx.Client(
            headers=headers,
            verify=verify,
            timeout=httpx.Timeout(address.read_timeout, connect=address.connect_timeout),
            follow_redirects=False,
        )

    def url(self, path: str, at_root: bool = False) -> str:
        """An endpoint's URL: under the base URL, or under the server root."""
        base = root_url(self.base_url) if at_root else self.base_url
        return base + path

    def get_json(self, path: str, at_root: bool = False, model: str | None = None) -> Any:
        """GET an endpoint's JSON answer (errors as ``EngineError``)."""
        return self._json("GET", path, None, at_root, model)

    def post_json(self, path: str, body: dict[str, Any], at_root: bool = False) -> Any:
        """POST JSON and return the JSON answer (errors as ``EngineError``)."""
        return self._json("POST", path, body, at_root, None)

    def _json(self, method: str, path: str, body: Any, at_root: bool, model: str | None) -> Any:
        url = self.url(path, at_root)
        with self.request(method, url, body, model) as response:
            data = response.read()
        try:
            return response.json() if data else None
        except ValueError:
            raise EngineError(
                f"{url} answered with something that is not JSON", RemoteErrorCode.MALFORMED
            ) from None

    @contextmanager
    def request(
        self,
        method: str,
        url: str,
        body: Any,
        model: str | None,
        cancelled: threading.Event | None = None,
    ) -> Iterator[httpx.Response]:
        """A streamed answer with a 2xx status (429/503 retried; other errors raised)."""
        for attempt in range(MAX_RETRIES + 1):
            try:
                with self.client.stream(method, url, json=body) as response:
                    if response.is_success:
                        yield response
                        return
                    error_body = response.read()
            except httpx.HTTPError as failure:
                raise transport_error(failure, self.base_url) from None
            error = status_error(response.status_code, error_body, self.base_url, model)
            wait = retry_delay(response, attempt)
            if response.status_code not in RETRY_STATUSES or attempt == MAX_RETRIES:
                raise _with_attempts(error, attempt)
            if wait > MAX_RETRY_WAIT:
                raise EngineError(
                    f"{error.message} (the server asks to wait {wait:.0f} s; try again later)",
                    error.code,
                )
            if (cancelled or threading.Event()).wait(wait):
                raise EngineError("cancelled while waiting to retry", "cancelled")

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def _with_attempts(error: EngineError, attempt: int) -> EngineError:
    if attempt == 0:
        return error
    return EngineError(f"{error.message} (gave up after {attempt + 1} attempts)", error.code)
