"""Hub names Windows cannot hold, lock files left behind, downloads without a listed checksum.

Before the fix, ``CON.gguf`` and ``con/aux.gguf`` were accepted, ``*.partial.lock`` stayed
after every successful download, and a file whose listing had no SHA-256 was accepted after
a size check alone, silently (issue 10).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import HostedRepo, TestHub, gguf_bytes

from chatdesk import paths
from chatdesk.cli.main import main
from chatdesk.hub.download import Downloader
from chatdesk.hub.errors import InvalidNameError
from chatdesk.hub.names import check_gguf_filename, check_repo_id
from chatdesk.hub.remote import RemoteFile, list_repo_models

Q4 = "tiny-chat-Q4_K_M.gguf"


@pytest.mark.parametrize(
    "name", ["CON.gguf", "con/aux.gguf", "NUL.gguf", "models/COM1.gguf", "lpt9.q4.gguf",
             "nul /x.gguf", "dir./x.gguf"],
)  # fmt: skip
def test_names_windows_reserves_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError):
        check_gguf_filename(name)


def test_reserved_repository_names_are_refused() -> None:
    with pytest.raises(InvalidNameError, match="Windows reserves"):
        check_repo_id("aux/model")
    assert check_repo_id("console/model") == "console/model"
    assert check_gguf_filename("CONTEXT-q4.gguf") == "CONTEXT-q4.gguf"


def unlisted(remote: RemoteFile) -> RemoteFile:
    """The same file as a listing without any checksum would describe it."""
    return dataclasses.replace(remote, sha256=None, blob_id=None)


def test_a_download_without_listed_checksum_is_verified_from_the_headers(
    small_repo: HostedRepo,
) -> None:
    downloader = Downloader(stall_timeout=2.0, max_retries=2, retry_delay=0.01)
    remote = unlisted(list_repo_models(small_repo.repo_id).find(Q4))
    path = downloader.download(remote)
    assert path.read_bytes() == small_repo.files[Q4]
    assert downloader.verified(path)  # the SHA-256 came from X-Linked-Etag
    assert not list(paths.models_dir().rglob("*.lock"))  # no lock file left behind


def test_a_download_that_cannot_be_verified_says_so(
    online_hub: TestHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = online_hub.add_repo(
        HostedRepo("plain-org/No-LFS-GGUF", {Q4: gguf_bytes(50_000, 3)}, lfs=False)
    )
    downloader = Downloader(stall_timeout=2.0, max_retries=2, retry_delay=0.01)
    path = downloader.download(unlisted(list_repo_models(repo.repo_id).find(Q4)))
    assert path.read_bytes() == repo.files[Q4]
    assert not downloader.verified(path)
    from chatdesk.cli import model_commands

    real = model_commands.pick_model

    def without_checksums(models: model_commands.ModelService, repo_id: str, file: str) -> object:
        model = real(models, repo_id, file)
        return dataclasses.replace(model, parts=tuple(unlisted(p) for p in model.parts))

    monkeypatch.setattr(model_commands, "pick_model", without_checksums)
    path.unlink()
    assert main(["models", "download", repo.repo_id, Q4]) == 0
    err = capsys.readouterr().err
    assert "not verified: the hub gave no checksum" in err
    assert Path(path).is_file()
