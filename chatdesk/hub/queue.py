"""A queue of downloads run one after another by a worker thread.

Listeners get a snapshot of a job every time it changes (on the worker thread: a GUI must
marshal it to its own thread). Jobs resolve their file's size and SHA-256 from the hub when
they start, so adding a job never blocks on the network.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from chatdesk.hub.download import UNVERIFIED, Downloader, DownloadProgress
from chatdesk.hub.errors import DownloadCancelled, HubError
from chatdesk.hub.names import check_gguf_filename, check_repo_id
from chatdesk.hub.remote import RemoteFile, list_repo_models

log = logging.getLogger(__name__)


class JobState(enum.StrEnum):
    """Where a download job stands."""

    QUEUED = "queued"
    RUNNING = "downloading"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class DownloadJob:
    """A snapshot of one queued download."""

    id: int
    repo_id: str
    filename: str
    state: JobState = JobState.QUEUED
    downloaded: int = 0
    total: int = 0
    speed: float = 0.0
    eta_seconds: float | None = None
    error: str | None = None
    path: Path | None = None
    warning: str | None = None  # e.g. the file could not be verified (no checksum from the hub)

    @property
    def finished(self) -> bool:
        """True once the job will not change any more."""
        return self.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


JobListener = Callable[[DownloadJob], None]
Resolver = Callable[[str, str], RemoteFile]


def resolve_remote_file(repo_id: str, filename: str, endpoint: str | None = None) -> RemoteFile:
    """The hub's size, SHA-256 and commit for one .gguf file of a repository."""
    return list_repo_models(repo_id, endpoint=endpoint).find(filename)


class DownloadQueue:
    """Runs downloads one at a time on a worker thread; cancel any job at any time."""

    def __init__(self, downloader: Downloader, resolver: Resolver | None = None) -> None:
        self._downloader = downloader
        self._resolver = resolver or (
            lambda repo, name: resolve_remote_file(repo, name, downloader.endpoint)
        )
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._jobs: dict[int, DownloadJob] = {}
        self._cancels: dict[int, threading.Event] = {}
        self._listeners: list[JobListener] = []
        self._ids = itertools.count(1)
        self._worker: threading.Thread | None = None
        self._closing = False

    def subscribe(self, listener: JobListener) -> None:
        """Call ``listener(job)`` (on the worker thread) whenever a job changes."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: JobListener) -> None:
        """Stop calling ``listener``."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def add(self, repo_id: str, filename: str) -> DownloadJob:
        """Queue a download of one .gguf file; returns its first snapshot."""
        check_repo_id(repo_id)
        check_gguf_filename(filename)
        with self._lock:
            if self._closing:
                raise HubError("the download queue is closed")
            active = self._active_job(repo_id, filename)
            if active is not None:
                return active
            job = DownloadJob(next(self._ids), repo_id, filename)
            self._jobs[job.id] = job
            self._cancels[job.id] = threading.Event()
            self._start_worker()
            self._wake.notify_all()
        self._notify(job)
        return job

    def _active_job(self, repo_id: str, filename: str) -> DownloadJob | None:
        """An unfinished job for the same file (a file is never downloaded twice at once)."""
        return next(
            (
                job
                for job in self._jobs.values()
                if not job.finished and (job.repo_id, job.filename) == (repo_id, filename)
            ),
            None,
        )

    def cancel(self, job_id: int) -> None:
        """Stop a queued or running job; its partial file is kept for a later resume."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.finished:
                return
            self._cancels[job_id].set()
            if job.state == JobState.QUEUED:
                job = self._update(job_id, state=JobState.CANCELLED, error="cancelled")
            else:
                job = None
        if job is not None:
            self._notify(job)

    def jobs(self) -> list[DownloadJob]:
        """Snapshots of every job, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def wait(self, timeout: float) -> bool:
        """Block until every job has finished (or ``timeout`` seconds); True if all did."""
        with self._lock:
            return self._wake.wait_for(
                lambda: all(job.finished for job in self._jobs.values()), timeout
            )

    def close(self, timeout: float = 5.0) -> None:
        """Cancel everything and stop the worker thread."""
        with self._lock:
            self._closing = True
            pending = [job.id for job in self._jobs.values() if not job.finished]
            self._wake.notify_all()
        for job_id in pending:
            self.cancel(job_id)
        if self._worker is not None:
            self._worker.join(timeout)

    def _start_worker(self) -> None:
        """Start the worker thread if it is not running (called with the lock held)."""
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(
                target=self._run, name="chatdesk-downloads", daemon=True
            )
            self._worker.start()

    def _next_job(self) -> DownloadJob | None:
        """Wait for a queued job; None when the queue closes."""
        with self._lock:
            while not self._closing:
                queued = [job for job in self._jobs.values() if job.state == JobState.QUEUED]
                if queued:
                    return self._update(queued[0].id, state=JobState.RUNNING)
                self._wake.wait()
            return None

    def _run(self) -> None:
        """The worker: take jobs in order until the queue closes."""
        while (job := self._next_job()) is not None:
            self._notify(job)
            self._change(job.id, **self._execute(job))

    def _execute(self, job: DownloadJob) -> dict[str, object]:
        """Run one job; returns the fields of its final snapshot."""
        cancel = self._cancels[job.id]
        try:
            remote = self._resolver(job.repo_id, job.filename)
            self._change(job.id, total=remote.size, state=JobState.RUNNING)
            path = self._downloader.download(remote, self._progress_for(job.id), cancel)
        except DownloadCancelled as error:
            return {"state": JobState.CANCELLED, "error": str(error)}
        except HubError as error:
            log.warning("download %s/%s failed: %s", job.repo_id, job.filename, error)
            return {"state": JobState.FAILED, "error": str(error)}
        except Exception as error:  # a bug must not kill the worker thread
            log.exception("download %s/%s crashed", job.repo_id, job.filename)
            return {"state": JobState.FAILED, "error": f"unexpected error: {error}"}
        log.info("downloaded %s/%s to %s", job.repo_id, job.filename, path)
        done: dict[str, object] = {"state": JobState.DONE, "path": path, "eta_seconds": 0}
        if not self._downloader.verified(path):
            done["warning"] = UNVERIFIED
        return {**done, "downloaded": remote.size}

    def _progress_for(self, job_id: int) -> Callable[[DownloadProgress], None]:
        """A progress callback that updates and announces job ``job_id``."""

        def report(progress: DownloadProgress) -> None:
            self._change(
                job_id,
                downloaded=progress.downloaded,
                total=progress.total,
                speed=progress.speed,
                eta_seconds=progress.eta_seconds,
            )

        return report

    def _change(self, job_id: int, **changes: object) -> None:
        """Apply ``changes`` to a job, wake waiters and tell the listeners."""
        with self._lock:
            job = self._update(job_id, **changes)
            self._wake.notify_all()
        self._notify(job)

    def _update(self, job_id: int, **changes: object) -> DownloadJob:
        """Replace a job's snapshot (called with the lock held)."""
        job = replace(self._jobs[job_id], **changes)  # type: ignore[arg-type]
        self._jobs[job_id] = job
        return job

    def _notify(self, job: DownloadJob) -> None:
        """Tell every listener; a failing listener is logged, never fatal."""
        for listener in list(self._listeners):
            try:
                listener(job)
            except Exception:
                log.exception("download listener failed")
