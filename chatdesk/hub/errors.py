"""Errors of the hub layer: each carries a one-line message fit to show a user."""

from __future__ import annotations


class HubError(Exception):
    """Base class: something about models, the hub or a download went wrong."""


class OfflineError(HubError):
    """The hub may not be contacted (``HF_HUB_OFFLINE``) or cannot be reached."""


class RepoNotFoundError(HubError):
    """The repository or file does not exist on the hub (or is private)."""


class AccessDeniedError(HubError):
    """The hub refused access: a login is needed or the repository is gated."""


class InvalidNameError(HubError):
    """A repository id or file name is unsafe or not a GGUF file."""


class ChecksumError(HubError):
    """A downloaded file does not match the hub's SHA-256 (or size)."""


class DiskFullError(HubError):
    """Not enough free disk space for the download."""


class DownloadCancelled(HubError):
    """The user cancelled the download; the partial file is kept for a later resume."""


class DownloadFailed(HubError):
    """The download broke off (network, stall) and retries ran out; it can be resumed."""


class CatalogueError(HubError):
    """The curated catalogue file is missing or malformed."""


class LibraryError(HubError):
    """A local library operation (import, delete) failed."""
