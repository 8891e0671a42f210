"""Downloads against the test hub: verified, resumable, and never half-listed as models."""

from __future__ import annotations

import errno
import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import HostedRepo, TestHub, gguf_bytes

from chatdesk import paths
from chatdesk.hub import download as download_module
from chatdesk.hub.download import Downloader, DownloadProgress, partial_path, pending_downloads
from chatdesk.hub.errors import (
    AccessDeniedError,
    ChecksumError,
    DiskFullError,
    DownloadCancelled,
    DownloadFailed,
    HubError,
    InvalidNameError,
    RepoNotFoundError,
)
from chatdesk.hub.library import Library
from chatdesk.hub.remote import RemoteFile, list_repo_models

Q4 = "tiny-chat-Q4_K_M.gguf"


def remote_file(repo_id: str, filename: str) -> RemoteFile:
    return list_repo_models(repo_id).find(filename)


def fast_downloader(**options: float) -> Downloader:
    settings = {"stall_timeout": 2.0, "max_retries": 3, "retry_delay": 0.01}
    settings.update(options)
    return Downloader(**settings)  # type: ignore[arg-type]


def library_names() -> list[str]:
    return [model.name for model in Library().list_models(with_metadata=False)]


def test_download_lands_verified_in_the_library_with_progress(small_repo: HostedRepo) -> None:
    reports: list[DownloadProgress] = []

    path = fast_downloader().download(remote_file(small_repo.repo_id, Q4), reports.append)

    assert path == paths.models_dir() / "test-org" / "Tiny-Chat-GGUF" / Q4
    assert path.read_bytes() == small_repo.files[Q4]
    assert reports[-1].downloaded == reports[-1].total == 300_000
    assert [r.downloaded for r in reports] == sorted(r.downloaded for r in reports)
    assert library_names() == [f"test-org/Tiny-Chat-GGUF/{Q4}"]
    assert not partial_path(paths.models_dir(), small_repo.repo_id, Q4).exists()


def test_dropped_connection_resumes_with_a_range_request(
    small_repo: HostedRepo, online_hub: TestHub
) -> None:
    online_hub.faults.drop_after[Q4] = [100_000]

    path = fast_downloader().download(remote_file(small_repo.repo_id, Q4))

    assert path.read_bytes() == small_repo.files[Q4]
    assert online_hub.byte_requests(Q4) == [None, "bytes=100000-"]


def test_partial_survives_a_restart_and_a_new_downloader_resumes_it(
    small_repo: HostedRepo, online_hub: TestHub
) -> None:
    online_hub.faults.drop_after[Q4] = [120_000, 0, 0]  # then every retry dies at once
    remote = remote_file(small_repo.repo_id, Q4)

    with pytest.raises(DownloadFailed, match="run it again to resume"):
        fast_downloader(max_retries=2).download(remote)

    partial = partial_path(paths.models_dir(), small_repo.repo_id, Q4)
    assert partial.stat().st_size == 120_000
    assert library_names() == []  # a partial is never a model

    path = fast_downloader().download(remote)  # "after a restart": a fresh downloader

    assert hashlib.sha256(path.read_bytes()).hexdigest() == remote.sha256
    assert online_hub.byte_requests(Q4)[-1] == "bytes=120000-"


def test_stalled_transfer_is_retried(small_repo: HostedRepo, online_hub: TestHub) -> None:
    online_hub.faults.stall_seconds[Q4] = 1.0

    path = fast_downloader(stall_timeout=0.3).download(remote_file(small_repo.repo_id, Q4))

    assert path.read_bytes() == small_repo.files[Q4]
    assert len(online_hub.byte_requests(Q4)) == 2


def test_wrong_checksum_is_rejected_and_nothing_is_kept(small_repo: HostedRepo) -> None:
    small_repo.wrong_sha256.add(Q4)

    with pytest.raises(ChecksumError, match="failed verification"):
        fast_downloader().download(remote_file(small_repo.repo_id, Q4))

    assert library_names() == []
    assert not partial_path(paths.models_dir(), small_repo.repo_id, Q4).exists()


def test_small_file_stored_in_git_is_checked_by_its_blob_sha1(online_hub: TestHub) -> None:
    repo = online_hub.add_repo(
        HostedRepo("git/Small-GGUF", {"s-Q8_0.gguf": gguf_bytes(2000)}, lfs=False)
    )
    remote = remote_file(repo.repo_id, "s-Q8_0.gguf")
    assert remote.sha256 is None

    path = fast_downloader().download(remote)

    assert path.read_bytes() == repo.files["s-Q8_0.gguf"]


def test_cancel_keeps_the_partial_for_a_later_resume(small_repo: HostedRepo) -> None:
    cancel = threading.Event()

    def cancel_midway(progress: DownloadProgress) -> None:
        if progress.downloaded >= 64 * 1024:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        fast_downloader().download(remote_file(small_repo.repo_id, Q4), cancel_midway, cancel)

    partial = partial_path(paths.models_dir(), small_repo.repo_id, Q4)
    assert 0 < partial.stat().st_size < 300_000
    assert library_names() == []


def test_not_enough_free_space_is_refused_before_any_byte(
    small_repo: HostedRepo, online_hub: TestHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download_module, "free_disk_bytes", lambda path: 1000)

    with pytest.raises(DiskFullError, match="not enough disk space"):
        fast_downloader().download(remote_file(small_repo.repo_id, Q4))

    assert online_hub.byte_requests(Q4) == []


class FillingDisk:
    """A partial file on a disk that fills up after ``room`` more bytes."""

    def __init__(self, path: Path, room: int) -> None:
        self.handle = path.open("r+b")
        self.room = room

    def __enter__(self) -> FillingDisk:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.handle.close()

    def seek(self, offset: int) -> int:
        return self.handle.seek(offset)

    def truncate(self, size: int) -> int:
        return self.handle.truncate(size)

    def flush(self) -> None:
        self.handle.flush()

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            self.handle.write(data[: self.room])  # a torn write, as a full disk leaves it
            self.handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.handle.write(data)


def test_disk_filling_up_mid_download_keeps_a_clean_partial(
    small_repo: HostedRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = download_module._open_partial
    monkeypatch.setattr(download_module, "_open_partial", lambda path: FillingDisk(path, 100_000))
    remote = remote_file(small_repo.repo_id, Q4)

    with pytest.raises(DiskFullError, match="disk full"):
        fast_downloader().download(remote)

    assert library_names() == []
    partial = partial_path(paths.models_dir(), small_repo.repo_id, Q4)
    kept = partial.stat().st_size
    assert 0 < kept <= 100_000
    assert partial.read_bytes() == small_repo.files[Q4][:kept]  # the torn tail was cut off
    monkeypatch.setattr(download_module, "_open_partial", real_open)  # space freed
    path = fast_downloader().download(remote)
    assert path.read_bytes() == small_repo.files[Q4]


def test_missing_file_and_gated_repo_give_clear_errors(online_hub: TestHub) -> None:
    repo = online_hub.add_repo(
        HostedRepo("meta/Gated-GGUF", {"g-Q4_0.gguf": gguf_bytes(1000)}, gated=True)
    )
    remote = remote_file(repo.repo_id, "g-Q4_0.gguf")

    with pytest.raises(AccessDeniedError, match="gated"):
        fast_downloader().download(remote)
    del repo.files["g-Q4_0.gguf"]
    repo.gated = False
    with pytest.raises(RepoNotFoundError, match="not found"):
        fast_downloader().download(remote)
    assert library_names() == []


def test_already_downloaded_file_needs_no_network(
    small_repo: HostedRepo, online_hub: TestHub
) -> None:
    remote = remote_file(small_repo.repo_id, Q4)
    fast_downloader().download(remote)
    count = len(online_hub.requests)

    path = fast_downloader().download(remote)

    assert path.is_file()
    assert len(online_hub.requests) == count


def test_partial_of_other_bytes_is_started_over(
    small_repo: HostedRepo, online_hub: TestHub
) -> None:
    remote = remote_file(small_repo.repo_id, Q4)
    partial = partial_path(paths.models_dir(), small_repo.repo_id, Q4)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"junk" * 1000)  # no sidecar: unknown origin

    path = fast_downloader().download(remote)

    assert path.read_bytes() == small_repo.files[Q4]
    assert online_hub.byte_requests(Q4) == [None]


def test_download_paths_stay_inside_the_models_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidNameError, match="unsafe"):
        partial_path(tmp_path, "a/b", "../../x.gguf")
    with pytest.raises(InvalidNameError, match="not a valid repository id"):
        partial_path(tmp_path, "../b", "x.gguf")


def test_unfinished_downloads_are_found_after_a_restart(
    small_repo: HostedRepo, online_hub: TestHub
) -> None:
    online_hub.faults.drop_after[Q4] = [50_000, 0]
    remote = remote_file(small_repo.repo_id, Q4)
    with pytest.raises(DownloadFailed):
        fast_downloader(max_retries=1).download(remote)

    (pending,) = pending_downloads()

    assert pending.remote == remote
    assert pending.downloaded == 50_000
    fast_downloader().download(pending.remote)
    assert pending_downloads() == []


def test_a_file_is_never_downloaded_twice_at_once(small_repo: HostedRepo) -> None:
    remote = remote_file(small_repo.repo_id, Q4)
    partial = partial_path(paths.models_dir(), small_repo.repo_id, Q4)
    partial.parent.mkdir(parents=True)
    holder = subprocess.Popen(  # another ChatDesk process downloading the same file
        [sys.executable, "-c", HOLD_LOCK, f"{partial}.lock"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"locked\n"
        with pytest.raises(HubError, match="already being downloaded"):
            fast_downloader().download(remote)
    finally:
        holder.communicate(b"", timeout=10)
    assert fast_downloader().download(remote).is_file()


HOLD_LOCK = """
import sys
from filelock import FileLock
with FileLock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""
