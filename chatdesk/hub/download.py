"""Resumable, verified downloads of one GGUF file from the hub.

The bytes go to ``models/.downloads/<owner>/<repo>/<file>.partial`` with a JSON sidecar naming
the exact commit, size and SHA-256 expected. An interrupted download (dropped connection,
stall, cancel, app restart) continues from the partial file with an HTTP range request against
the hub's resolve URL. Only when every byte is there and the SHA-256 matches the hub's LFS
metadata is the file renamed (atomically) into ``models/<owner>/<repo>/``, where the library
looks. huggingface_hub's own downloader is not used because it deletes its temporary file on
failure, which would make cross-run resume impossible.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import httpx2
from filelock import FileLock, Timeout
from huggingface_hub import hf_hub_url
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from chatdesk import paths
from chatdesk.hub.errors import (
    ChecksumError,
    DiskFullError,
    DownloadCancelled,
    DownloadFailed,
    HubError,
)
from chatdesk.hub.names import check_gguf_filename, check_repo_id
from chatdesk.hub.remote import RemoteFile, ensure_online, hub_endpoint, hub_errors

PARTIAL_DIR = ".downloads"
DISK_MARGIN_BYTES = 64 * 1024**2  # keep this much free beyond the file itself

log = logging.getLogger(__name__)
UNVERIFIED = "not verified: the hub gave no checksum for this file, only its size was checked"


@dataclass(frozen=True)
class DownloadProgress:
    """A progress report: bytes so far, total, current speed and estimated seconds left."""

    repo_id: str
    filename: str
    downloaded: int
    total: int
    speed: float  # bytes per second over the last few seconds
    eta_seconds: float | None

    @property
    def fraction(self) -> float:
        """Share done, 0.0 to 1.0."""
        return self.downloaded / self.total if self.total else 1.0


ProgressCallback = Callable[[DownloadProgress], None]


def library_path(models_root: Path, repo_id: str, filename: str) -> Path:
    """Where a verified file of ``repo_id`` lives: ``<root>/<owner>/<repo>/<filename>``."""
    return models_root.joinpath(*check_repo_id(repo_id).split("/"), check_gguf_filename(filename))


def lock_path(partial: Path) -> str:
    """The lock file that stops two processes downloading the same file."""
    return f"{partial}.lock"


def partial_path(models_root: Path, repo_id: str, filename: str) -> Path:
    """Where the unverified bytes of a download collect until verified."""
    target = library_path(models_root / PARTIAL_DIR, repo_id, filename)
    return target.with_name(target.name + ".partial")


def free_disk_bytes(path: Path) -> int:
    """Free bytes on the file system holding ``path`` (or its nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


class _SpeedMeter:
    """Bytes per second over a sliding window of a few seconds."""

    def __init__(self, window: float = 5.0) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, total_bytes: int) -> float:
        now = time.monotonic()
        self._samples.append((now, total_bytes))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()
        first_time, first_bytes = self._samples[0]
        elapsed = now - first_time
        return (total_bytes - first_bytes) / elapsed if elapsed > 0 else 0.0


class _Interrupted(Exception):
    """A transfer broke off (network error or stall); the caller may retry."""


class Downloader:
    """Downloads single files into a models folder; safe to reuse, one file at a time."""

    def __init__(
        self,
        models_root: Path | None = None,
        *,
        endpoint: str | None = None,
        token: str | None = None,
        stall_timeout: float = 30.0,
        max_retries: int = 5,
        retry_delay: float = 1.0,
    ) -> None:
        self.models_root = models_root or paths.models_dir()
        self.endpoint = endpoint
        self.token = token
        self.stall_timeout = stall_timeout
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.unverified: set[Path] = set()  # library paths checked by size only

    def download(
        self,
        remote: RemoteFile,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Path:
        """Fetch ``remote`` (resuming any partial), verify it, and return its library path."""
        target = library_path(self.models_root, remote.repo_id, remote.filename)
        if target.is_file() and target.stat().st_size == remote.size:
            return target
        ensure_online()
        partial = partial_path(self.models_root, remote.repo_id, remote.filename)
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(lock_path(partial), timeout=0):
                path = self._download_locked(remote, partial, target, on_progress, cancel)
        except Timeout:
            raise HubError(f"{remote.filename} is already being downloaded") from None
        Path(lock_path(partial)).unlink(missing_ok=True)  # done: no lock file left behind
        return path

    def verified(self, path: Path) -> bool:
        """False for a file this downloader fetched without any checksum from the hub."""
        return path not in self.unverified

    def _download_locked(
        self,
        remote: RemoteFile,
        partial: Path,
        target: Path,
        on_progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> Path:
        """The download proper, with this process owning the partial file."""
        state = _PartialFile(partial, remote)
        _check_disk_space(state.path, remote.size - state.size)
        state.rehash()
        try:
            self._transfer(state, on_progress, cancel or threading.Event())
        except ChecksumError:
            discard_partial(state.path)
            raise
        if not _verify(state):
            self.unverified.add(target)
            log.warning("%s: the hub gave no checksum; only its size was checked", target)
        return _promote(state.path, target)

    def _transfer(
        self, state: _PartialFile, on_progress: ProgressCallback | None, cancel: threading.Event
    ) -> None:
        """Fill the partial file up to the expected size, retrying broken transfers.

        Failures in a row without new bytes are limited to ``max_retries``; any progress
        resets the count, so a slow but moving download is never given up on.
        """
        failures = 0
        while state.size < state.remote.size:
            before = state.size
            try:
                self._fetch_rest(state, on_progress, cancel)
            except _Interrupted as error:
                failures = 1 if state.size > before else failures + 1
                if failures > self.max_retries:
                    raise DownloadFailed(
                        f"download of {state.remote.filename} stopped ({error}); "
                        "run it again to resume"
                    ) from error
                if cancel.wait(min(self.retry_delay * 2 ** (failures - 1), 30.0)):
                    raise _cancelled(state.remote) from None

    def _fetch_rest(
        self, state: _PartialFile, on_progress: ProgressCallback | None, cancel: threading.Event
    ) -> None:
        """One GET from the end of the partial file; raises _Interrupted on network trouble."""
        remote = state.remote
        endpoint = hub_endpoint(self.endpoint)
        url = hf_hub_url(remote.repo_id, remote.filename, revision=remote.commit, endpoint=endpoint)
        headers = build_hf_headers(token=self.token)
        headers["Accept-Encoding"] = "identity"
        if state.size:
            headers["Range"] = f"bytes={state.size}-"
        timeout = httpx2.Timeout(self.stall_timeout, connect=min(self.stall_timeout, 30.0))
        try:
            with get_session().stream("GET", url, headers=headers, timeout=timeout) as response:
                _raise_for_status(response, remote)
                state.learn_checksum(response)
                if state.size and response.status_code != 206:
                    state.reset()  # the server ignored the range: start over
                _check_content_range(response, state.size, remote)
                self._write_body(response, state, on_progress, cancel)
        except httpx2.TransportError as error:
            raise _Interrupted(_describe(error)) from error

    def _write_body(
        self,
        response: httpx2.Response,
        state: _PartialFile,
        on_progress: ProgressCallback | None,
        cancel: threading.Event,
    ) -> None:
        """Append the response body to the partial file, hashing as it goes."""
        remote = state.remote
        meter = _SpeedMeter()
        with _open_partial(state.path) as handle:
            handle.seek(state.size)
            # chunks as received: nothing held in a buffer is lost when the connection drops
            for chunk in response.iter_bytes():
                if cancel.is_set():
                    raise _cancelled(remote)
                if state.size + len(chunk) > remote.size:
                    raise ChecksumError(f"{remote.filename}: the hub sent more bytes than expected")
                _write_chunk(handle, chunk, state.size, remote)
                state.append(chunk)
                if on_progress is not None:
                    on_progress(_progress(remote, state.size, meter.add(state.size)))
        if state.size < remote.size:
            raise _Interrupted("the connection closed early")


class _PartialFile:
    """The partial file of one download, its sidecar, and a running hash of its bytes."""

    def __init__(self, path: Path, remote: RemoteFile) -> None:
        self.path = path
        self.remote = remote
        self.sidecar = path.with_suffix(".json")
        self.linked_sha256: str | None = None  # from the hub's X-Linked-Etag header
        self.digest, self.blob_digest = self._new_digests()
        self.size = self._open()

    def _new_digests(self) -> tuple[hashlib._Hash, hashlib._Hash]:
        """SHA-256 (LFS files) and a git blob SHA-1 (small files stored in git): which one
        the hub vouches for may only be known from the download's headers."""
        blob = hashlib.sha1(usedforsecurity=False)
        blob.update(f"blob {self.remote.size}\0".encode())
        return hashlib.sha256(), blob

    def learn_checksum(self, response: httpx2.Response) -> None:
        """The SHA-256 the hub gives in ``X-Linked-Etag`` (an LFS file's), when present."""
        for answer in (*response.history, response):
            tag = answer.headers.get("x-linked-etag", "").removeprefix("W/").strip('"').lower()
            if len(tag) == 64 and all(c in "0123456789abcdef" for c in tag):
                self.linked_sha256 = tag

    def _open(self) -> int:
        """Reuse a partial for the same commit and bytes; otherwise start an empty one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            recorded = json.loads(self.sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            recorded = None
        if not _same_bytes(recorded, asdict(self.remote)) or not self.path.is_file():
            self.path.write_bytes(b"")
            self.sidecar.write_text(json.dumps(asdict(self.remote)), encoding="utf-8")
        size = self.path.stat().st_size
        if size > self.remote.size:
            self.path.write_bytes(b"")
            size = 0
        return size

    def rehash(self) -> None:
        """Feed the bytes already on disk into the hashes (after an earlier run)."""
        with self.path.open("rb") as handle:
            while block := handle.read(4 * 1024 * 1024):
                self.digest.update(block)
                self.blob_digest.update(block)

    def reset(self) -> None:
        """Throw away the bytes so far."""
        self.path.write_bytes(b"")
        self.digest, self.blob_digest = self._new_digests()
        self.size = 0

    def append(self, chunk: bytes) -> None:
        """Account for a chunk just written."""
        self.digest.update(chunk)
        self.blob_digest.update(chunk)
        self.size += len(chunk)


def _same_bytes(recorded: object, expected: dict[str, object]) -> bool:
    """True if a sidecar describes the same file content (the commit may have moved on)."""
    if not isinstance(recorded, dict):
        return False
    return all(recorded.get(key) == value for key, value in expected.items() if key != "commit")


def _cancelled(remote: RemoteFile) -> DownloadCancelled:
    """The error for a cancelled download (its partial file is kept)."""
    return DownloadCancelled(f"download of {remote.filename} cancelled; it can be resumed")


def _progress(remote: RemoteFile, done: int, speed: float) -> DownloadProgress:
    """A progress report with a time-left estimate from the current speed."""
    eta = (remote.size - done) / speed if speed > 0 else None
    return DownloadProgress(remote.repo_id, remote.filename, done, remote.size, speed, eta)


def _raise_for_status(response: httpx2.Response, remote: RemoteFile) -> None:
    """Translate an HTTP error status into a HubError (reading the small error body first).

    Server errors (5xx) and rate limits (429) are passing trouble: retried like a drop.
    """
    if response.status_code >= 500 or response.status_code == 429:
        raise _Interrupted(f"the hub answered HTTP {response.status_code}")
    if response.status_code >= 400:
        response.read()
        with hub_errors(f"download {remote.repo_id}/{remote.filename}"):
            hf_raise_for_status(response)


def _open_partial(path: Path) -> BinaryIO:
    """Open a partial file for writing in place."""
    return path.open("r+b")


def _write_chunk(handle: BinaryIO, chunk: bytes, offset: int, remote: RemoteFile) -> None:
    """Write one chunk; a full disk truncates back to ``offset`` and raises DiskFullError."""
    try:
        handle.write(chunk)
        handle.flush()
    except OSError as error:
        with contextlib.suppress(OSError):
            handle.truncate(offset)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                f"disk full while downloading {remote.filename}; free some space and "
                "run the download again to resume"
            ) from error
        raise HubError(f"cannot write {remote.filename}: {error.strerror or error}") from error


def _check_content_range(response: httpx2.Response, offset: int, remote: RemoteFile) -> None:
    """A 206 must start where we asked; a 200 must be the whole file."""
    if response.status_code == 206:
        content_range = response.headers.get("Content-Range", "")
        if not content_range.startswith(f"bytes {offset}-"):
            raise _Interrupted(f"unexpected Content-Range {content_range!r}")
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) != remote.size - offset:
        raise ChecksumError(
            f"{remote.filename}: the hub serves {int(length) + offset} bytes, "
            f"expected {remote.size} (the repository changed? list its files again)"
        )


def _describe(error: httpx2.TransportError) -> str:
    """A short reason for a transport failure."""
    if isinstance(error, httpx2.TimeoutException):
        return "no data received in time (stalled)"
    return str(error) or type(error).__name__


def _check_disk_space(partial: Path, remaining: int) -> None:
    """Raise DiskFullError unless ``remaining`` bytes (plus a margin) fit on the disk."""
    free = free_disk_bytes(partial)
    if free < remaining + DISK_MARGIN_BYTES:
        raise DiskFullError(
            f"not enough disk space: {remaining / 1e9:.2f} GB needed, {free / 1e9:.2f} GB free"
        )


def _verify(state: _PartialFile) -> bool:
    """Check size and checksum: the listing's SHA-256, else the one in the download's
    headers, else the git blob id. A mismatch deletes the partial and raises ChecksumError;
    False: the hub gave no checksum at all, so only the size could be checked."""
    remote = state.remote
    sha256 = remote.sha256 or state.linked_sha256
    if sha256:
        expected, actual = sha256.lower(), state.digest.hexdigest()
    else:
        expected, actual = (remote.blob_id or "").lower(), state.blob_digest.hexdigest()
    size = state.path.stat().st_size
    if size == remote.size and (not expected or actual == expected):
        return bool(expected)
    discard_partial(state.path)
    raise ChecksumError(
        f"{remote.filename} failed verification (checksum or size differs from the hub); "
        "the damaged download was deleted"
    )


def discard_partial(partial: Path) -> None:
    """Delete a partial file and its sidecar."""
    for path in (partial, partial.with_suffix(".json")):
        path.unlink(missing_ok=True)


def _promote(partial: Path, target: Path) -> Path:
    """Atomically move a verified partial into the library."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)
    partial.with_suffix(".json").unlink(missing_ok=True)
    return target


@dataclass(frozen=True)
class PendingDownload:
    """An unfinished download found on disk: resumable with :meth:`Downloader.download`."""

    remote: RemoteFile
    downloaded: int
    partial: Path


def pending_downloads(models_root: Path | None = None) -> list[PendingDownload]:
    """Every partial download with a readable sidecar (others cannot be resumed: ignored)."""
    folder = (models_root or paths.models_dir()) / PARTIAL_DIR
    found = []
    for partial in sorted(folder.rglob("*.partial")) if folder.is_dir() else []:
        try:
            recorded = json.loads(partial.with_suffix(".json").read_text(encoding="utf-8"))
            remote = RemoteFile(**recorded)
            if partial != partial_path(folder.parent, remote.repo_id, remote.filename):
                continue  # a sidecar that does not describe this file
            found.append(PendingDownload(remote, partial.stat().st_size, partial))
        except (OSError, ValueError, TypeError, HubError):
            continue
    return found
