"""Talking to the Hugging Face hub: offline checks, error translation, search, file listing.

Every function here is an explicit hub action; nothing else in ChatDesk opens a connection.
``HF_HUB_OFFLINE`` (read at call time as well as by huggingface_hub at import) stops them all
with an OfflineError before any request is made.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import httpx2
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from chatdesk.hub.errors import (
    AccessDeniedError,
    HubError,
    InvalidNameError,
    OfflineError,
    RepoNotFoundError,
)
from chatdesk.hub.names import (
    check_repo_id,
    is_gguf_name,
    model_stem,
    parse_quantization,
    split_part,
)

SearchSort = Literal["downloads", "likes", "last_modified", "trending_score", "created_at"]
SEARCH_SORTS: tuple[SearchSort, ...] = ("downloads", "likes", "last_modified")
_TRUE = {"1", "on", "yes", "true"}


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) forbids hub access."""
    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return env.strip().lower() in _TRUE or constants.HF_HUB_OFFLINE


def ensure_online() -> None:
    """Raise OfflineError if offline mode is on."""
    if is_offline():
        raise OfflineError(
            "offline mode: HF_HUB_OFFLINE is set, so the Hugging Face hub is not contacted "
            "(unset it to search or download)"
        )


REACH_TIMEOUT_S = 3.0
UNREACHABLE = (
    "The Hugging Face hub cannot be reached ({reason}). Local models and the starter model "
    "still work; search and downloads need the internet."
)


def ensure_reachable(endpoint: str | None = None) -> None:
    """Fail at once, in words, when the hub's host cannot be reached: without this check
    huggingface_hub retries for about 17 s before saying "Name or service not known"."""
    url = urllib.parse.urlsplit(hub_endpoint(endpoint))
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=REACH_TIMEOUT_S).close()
            outcome.append(None)
        except OSError as error:
            outcome.append(error)

    worker = threading.Thread(target=connect, name="hub-reachable", daemon=True)
    worker.start()
    worker.join(REACH_TIMEOUT_S + 0.5)  # name resolution has no timeout of its own
    if not outcome:
        raise OfflineError(UNREACHABLE.format(reason=f"no answer from {host} in 3 s"))
    if outcome[0] is not None:
        raise OfflineError(UNREACHABLE.format(reason=_reason(host, outcome[0])))


def _reason(host: str, error: BaseException) -> str:
    if isinstance(error, socket.gaierror):
        return f"the name {host} does not resolve: no internet connection?"
    if isinstance(error, ConnectionRefusedError):
        return f"{host} refused the connection"
    return f"{host}: {getattr(error, 'strerror', None) or error}"


def hub_endpoint(endpoint: str | None = None) -> str:
    """The hub's base URL: the argument, else huggingface_hub's (``HF_ENDPOINT``)."""
    return (endpoint or constants.ENDPOINT).rstrip("/")


@contextlib.contextmanager
def hub_errors(what: str) -> Iterator[None]:
    """Turn huggingface_hub and HTTP exceptions into one-line HubErrors about ``what``."""
    try:
        yield
    except HubError:
        raise
    except OfflineModeIsEnabled as error:
        raise OfflineError(f"offline mode: cannot {what}") from error
    except GatedRepoError as error:
        raise AccessDeniedError(
            f"cannot {what}: the repository is gated; accept its terms on huggingface.co "
            "and log in with `hf auth login`"
        ) from error
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as error:
        if isinstance(error, HfHubHTTPError) and _status(error) == 401:
            raise _http_status_error(what, error) from error
        raise RepoNotFoundError(f"cannot {what}: not found on the hub") from error
    except HfHubHTTPError as error:
        raise _http_status_error(what, error) from error
    except httpx2.TransportError as error:
        raise OfflineError(f"cannot {what}: the hub cannot be reached ({error})") from error


def _http_status_error(what: str, error: HfHubHTTPError) -> HubError:
    """A HubError for an HTTP error status that huggingface_hub did not classify."""
    status = _status(error)
    if status == 401:
        return AccessDeniedError(
            f"cannot {what}: not found, or private and needs a login (`hf auth login`)"
        )
    if status == 403:
        return AccessDeniedError(f"cannot {what}: access denied by the hub (gated or private)")
    if status == 404:
        return RepoNotFoundError(f"cannot {what}: not found on the hub")
    return HubError(f"cannot {what}: the hub answered HTTP {status}")


def _status(error: HfHubHTTPError) -> int:
    """The HTTP status of a hub error (0 if there was no response)."""
    return error.response.status_code if error.response is not None else 0


def hub_api(endpoint: str | None = None, token: str | None = None) -> HfApi:
    """An HfApi for the configured endpoint (never with TLS checks disabled)."""
    return HfApi(endpoint=hub_endpoint(endpoint), token=token)


@dataclass(frozen=True)
class RemoteRepo:
    """One search hit: a model repository on the hub."""

    repo_id: str
    downloads: int
    likes: int
    last_modified: datetime | None
    gated: bool


def search_models(
    query: str,
    *,
    sort: SearchSort = "downloads",
    limit: int = 30,
    endpoint: str | None = None,
) -> list[RemoteRepo]:
    """GGUF model repositories matching ``query``, best first by ``sort``."""
    ensure_online()
    ensure_reachable(endpoint)
    api = hub_api(endpoint)
    with hub_errors(f"search the hub for {query!r}"):
        hits = list(
            api.list_models(search=query or None, filter="gguf", sort=sort, limit=max(1, limit))
        )
    repos = []
    for hit in hits:
        with contextlib.suppress(InvalidNameError):
            repos.append(
                RemoteRepo(
                    repo_id=check_repo_id(hit.id),
                    downloads=int(hit.downloads or 0),
                    likes=int(hit.likes or 0),
                    last_modified=hit.last_modified,
                    gated=bool(hit.gated),
                )
            )
    return repos


@dataclass(frozen=True)
class RemoteFile:
    """One .gguf file in a repository, with what the hub says its bytes are."""

    repo_id: str
    filename: str
    size: int
    sha256: str | None
    blob_id: str | None
    commit: str


@dataclass(frozen=True)
class RemoteModel:
    """A model in a repository: one .gguf file, or every shard of a split one."""

    repo_id: str
    name: str
    quantization: str | None
    parts: tuple[RemoteFile, ...]
    complete: bool

    @property
    def size(self) -> int:
        """Bytes of all parts together."""
        return sum(part.size for part in self.parts)

    @property
    def filename(self) -> str:
        """The file to load (the first shard of a split model)."""
        return self.parts[0].filename


@dataclass(frozen=True)
class RepoListing:
    """The GGUF models of one repository at one commit."""

    repo_id: str
    commit: str
    gated: bool
    models: tuple[RemoteModel, ...]

    def find(self, filename: str) -> RemoteFile:
        """The file named ``filename``; RepoNotFoundError if the repo has no such .gguf."""
        for model in self.models:
            for part in model.parts:
                if part.filename == filename:
                    return part
        raise RepoNotFoundError(f"{self.repo_id} has no GGUF file named {filename!r}")


def list_repo_models(
    repo_id: str, *, revision: str | None = None, endpoint: str | None = None
) -> RepoListing:
    """Every .gguf file of ``repo_id`` with size, SHA-256 and quantisation, shards grouped."""
    check_repo_id(repo_id)
    ensure_online()
    ensure_reachable(endpoint)
    api = hub_api(endpoint)
    with hub_errors(f"list the files of {repo_id}"):
        info = api.model_info(repo_id, revision=revision, files_metadata=True)
    commit = info.sha or revision or "main"
    files = [
        RemoteFile(
            repo_id=repo_id,
            filename=sibling.rfilename,
            size=int(sibling.lfs.size if sibling.lfs else sibling.size or 0),
            sha256=sibling.lfs.sha256.lower() if sibling.lfs else None,
            blob_id=sibling.blob_id,
            commit=commit,
        )
        for sibling in info.siblings or []
        if is_gguf_name(sibling.rfilename)
    ]
    return RepoListing(repo_id, commit, bool(info.gated), group_models(repo_id, files))


def group_models(repo_id: str, files: list[RemoteFile]) -> tuple[RemoteModel, ...]:
    """Group shards ``-0000N-of-0000M`` of the same model into one RemoteModel, sorted."""
    groups: dict[str, list[RemoteFile]] = {}
    for remote in sorted(files, key=lambda f: f.filename):
        part = split_part(remote.filename)
        key = remote.filename if part is None else f"{part.base}-of-{part.total}"
        groups.setdefault(key, []).append(remote)
    models = []
    for parts in groups.values():
        models.append(
            RemoteModel(
                repo_id=repo_id,
                name=model_stem(parts[0].filename),
                quantization=parse_quantization(parts[0].filename),
                parts=tuple(parts),
                complete=_all_shards_present(parts),
            )
        )
    return tuple(models)


def _all_shards_present(parts: list[RemoteFile]) -> bool:
    """True for a single file, or shards numbered exactly 1..N of N."""
    shards = [split_part(p.filename) for p in parts]
    if shards[0] is None:
        return True
    total = shards[0].total
    return [s.index if s else 0 for s in shards] == list(range(1, total + 1))
