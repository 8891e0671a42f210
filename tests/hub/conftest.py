"""A small Hugging Face hub on 127.0.0.1 for the real huggingface_hub client.

It serves what ChatDesk and huggingface_hub ask for: model search (``/api/models``), repo info
with LFS metadata (``/api/models/<repo>/revision/<rev>?blobs=true``) and resolve URLs that
redirect LFS files to a "CDN" path serving byte ranges, with the headers huggingface_hub
expects (X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size, Content-Length, Accept-Ranges).
Faults can be switched on per file: a connection dropped after N bytes, a stall, a wrong
SHA-256 in the metadata, gated and private repositories.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx2
import pytest
from huggingface_hub import constants
from huggingface_hub.utils import _http

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def gguf_bytes(size: int, seed: int = 0) -> bytes:
    """``size`` bytes starting with the GGUF magic (not a loadable model; the hub does not care)."""
    body = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    return (b"GGUF" + body)[:size]


@dataclass
class HostedRepo:
    """A repository on the test hub."""

    repo_id: str
    files: dict[str, bytes]
    downloads: int = 0
    likes: int = 0
    last_modified: str = "2024-01-01T00:00:00.000Z"
    gated: bool = False
    private: bool = False
    lfs: bool = True
    wrong_sha256: set[str] = field(default_factory=set)


@dataclass
class Faults:
    """Trouble to cause on the next GETs of a file's bytes (each used once)."""

    drop_after: dict[str, list[int]] = field(default_factory=dict)
    stall_seconds: dict[str, float] = field(default_factory=dict)


class TestHub:
    """The state behind the server: repositories, faults and a log of requests."""

    __test__ = False

    def __init__(self) -> None:
        self.repos: dict[str, HostedRepo] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, str, str | None]] = []
        self.url = ""
        self.lock = threading.Lock()

    def add_repo(self, repo: HostedRepo) -> HostedRepo:
        self.repos[repo.repo_id] = repo
        return repo

    def byte_requests(self, filename: str) -> list[str | None]:
        """The Range header of every GET of ``filename``'s bytes, in order."""
        return [
            rng
            for method, path, rng in self.requests
            if method == "GET" and path.endswith("/" + filename) and "/cdn/" in path
        ]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Answers the hub endpoints for ``server.hub``."""

    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        del format, args  # keep pytest output clean

    def do_HEAD(self) -> None:
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def _route(self, head: bool) -> None:
        hub = self.server.hub
        url = urlsplit(self.path)
        path = unquote(url.path)
        with hub.lock:
            hub.requests.append((self.command, path, self.headers.get("Range")))
        if path == "/api/models":
            self._search(parse_qs(url.query))
        elif path.startswith("/api/models/"):
            self._info(path.removeprefix("/api/models/"))
        elif "/resolve/" in path:
            self._resolve(path, head)
        elif path.startswith("/cdn/"):
            self._cdn(path, head)
        else:
            self._error(404, "EntryNotFound")

    def _json(self, payload: object, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: str) -> None:
        body = json.dumps({"error": code}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _search(self, query: dict[str, list[str]]) -> None:
        text = query.get("search", [""])[0].lower()
        sort = query.get("sort", ["downloads"])[0]
        limit = int(query.get("limit", ["50"])[0])
        key = {"downloads": "downloads", "likes": "likes", "lastModified": "last_modified"}[sort]
        repos = [
            r for r in self.server.hub.repos.values() if text in r.repo_id.lower() and not r.private
        ]
        repos.sort(key=lambda r: getattr(r, key), reverse=True)
        self._json(
            [
                {
                    "id": r.repo_id,
                    "downloads": r.downloads,
                    "likes": r.likes,
                    "lastModified": r.last_modified,
                    "gated": "manual" if r.gated else False,
                    "private": False,
                    "tags": ["gguf"],
                }
                for r in repos[:limit]
            ]
        )

    def _repo(self, repo_id: str) -> HostedRepo | None:
        repo = self.server.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound")
            return None
        if repo.private and "Authorization" not in self.headers:
            self._error(401, "RepoNotFound")
            return None
        return repo

    def _info(self, rest: str) -> None:
        repo_id = "/".join(rest.split("/")[:2])
        repo = self._repo(repo_id)
        if repo is None:
            return
        siblings = []
        for name, data in sorted(repo.files.items()):
            sha = "f" * 64 if name in repo.wrong_sha256 else _sha256(data)
            sibling: dict[str, object] = {
                "rfilename": name,
                "size": len(data),
                "blobId": _git_sha1(data),
            }
            if repo.lfs:
                sibling["lfs"] = {"sha256": sha, "size": len(data), "pointerSize": 134}
                sibling["size"] = len(data)
            siblings.append(sibling)
        self._json(
            {
                "id": repo_id,
                "sha": COMMIT,
                "gated": "manual" if repo.gated else False,
                "private": repo.private,
                "siblings": siblings,
            }
        )

    def _resolve(self, path: str, head: bool) -> None:
        owner, name, rest = path.lstrip("/").split("/", 2)
        repo = self._repo(f"{owner}/{name}")
        if repo is None:
            return
        revision, filename = rest.removeprefix("resolve/").split("/", 1)
        if revision not in (COMMIT, "main"):
            self._error(404, "RevisionNotFound")
            return
        if repo.gated and "Authorization" not in self.headers:
            self._error(401, "GatedRepo")
            return
        data = repo.files.get(filename)
        if data is None:
            self._error(404, "EntryNotFound")
            return
        if not repo.lfs:
            self._body(data, filename, head, {"ETag": f'"{_git_sha1(data)}"'})
            return
        self.send_response(302)
        self.send_header("Location", f"/cdn/{owner}/{name}/{filename}")
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{_git_sha1(data)}"')
        self.send_header("X-Linked-Etag", f'"{_sha256(data)}"')
        self.send_header("X-Linked-Size", str(len(data)))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _cdn(self, path: str, head: bool) -> None:
        owner, name, filename = path.removeprefix("/cdn/").split("/", 2)
        data = self.server.hub.repos[f"{owner}/{name}"].files[filename]
        self._body(data, filename, head, {"ETag": f'"{_sha256(data)}"'})

    def _body(self, data: bytes, filename: str, head: bool, extra: dict[str, str]) -> None:
        start, status = 0, 200
        wanted = self.headers.get("Range")
        if wanted and wanted.startswith("bytes="):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Repo-Commit", COMMIT)
        for key, value in extra.items():
            self.send_header(key, value)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if not head:
            self._send_with_faults(body, filename)

    def _send_with_faults(self, body: bytes, filename: str) -> None:
        faults = self.server.hub.faults
        with self.server.hub.lock:
            drops = faults.drop_after.get(filename) or []
            drop = drops.pop(0) if drops else None
            stall = faults.stall_seconds.pop(filename, 0.0)
        if stall:
            time.sleep(stall)
        if drop is not None:
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hub: TestHub


@pytest.fixture(autouse=True)
def empty_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point huggingface_hub's cache at an empty folder: no real cached model leaks in."""
    cache = tmp_path / "hf-hub-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture
def test_hub() -> Iterator[TestHub]:
    """A running test hub on 127.0.0.1 (any free port)."""
    hub = TestHub()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.hub = hub
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield hub
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def online_hub(
    test_hub: TestHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[TestHub]:
    """The test hub as the endpoint of huggingface_hub, offline mode off, no real token."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", test_hub.url)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", test_hub.url)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-tokens"))
    monkeypatch.setattr(
        constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        test_hub.url + "/{repo_id}/resolve/{revision}/{filename}",
    )
    client = httpx2.Client(
        event_hooks={"request": [_http.hf_request_event_hook, _only_localhost]},
        follow_redirects=True,
        timeout=None,
    )
    monkeypatch.setattr(_http, "_GLOBAL_CLIENT", client)
    yield test_hub
    client.close()


def _only_localhost(request: httpx2.Request) -> None:
    """Refuse any request that would leave 127.0.0.1 (tests never touch the network)."""
    if request.url.host != "127.0.0.1":
        raise RuntimeError(f"test tried to reach {request.url}")


@pytest.fixture
def small_repo(online_hub: TestHub) -> HostedRepo:
    """``test-org/Tiny-Chat-GGUF``: two quantisations, a 3-shard model, a README."""
    return online_hub.add_repo(
        HostedRepo(
            "test-org/Tiny-Chat-GGUF",
            {
                "tiny-chat-Q4_K_M.gguf": gguf_bytes(300_000, 1),
                "tiny-chat-Q8_0.gguf": gguf_bytes(500_000, 2),
                "big/tiny-chat-F16-00001-of-00003.gguf": gguf_bytes(70_000, 3),
                "big/tiny-chat-F16-00002-of-00003.gguf": gguf_bytes(70_000, 4),
                "big/tiny-chat-F16-00003-of-00003.gguf": gguf_bytes(50_000, 5),
                "README.md": b"# Tiny chat\n",
            },
            downloads=1000,
            likes=5,
            last_modified="2024-05-01T00:00:00.000Z",
        )
    )


def write_tiny_gguf(
    path: Path, *, context_length: int = 2048, template: str | None = "{{ x }}"
) -> Path:
    """A small but well-formed GGUF file (header, metadata, one tensor) made with ``gguf``."""
    import gguf
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny")
    writer.add_context_length(context_length)
    writer.add_block_count(1)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    if template is not None:
        writer.add_chat_template(template)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
