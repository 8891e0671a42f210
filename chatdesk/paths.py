"""Where ChatDesk keeps its data: one root directory, overridable with CHATDESK_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "ChatDesk"
HOME_ENV = "CHATDESK_HOME"


def data_root() -> Path:
    """The data root: ``$CHATDESK_HOME`` if set, else the platform's user data directory."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def ensure_data_root() -> Path:
    """The data root, created if missing."""
    root = data_root()
    root.mkdir(parents=True, exist_ok=True)
    return root


def database_path() -> Path:
    """The SQLite database holding conversations and settings."""
    return data_root() / "chatdesk.db"


def models_dir() -> Path:
    """Downloaded and imported models, laid out by repository."""
    return data_root() / "models"


def cache_dir() -> Path:
    """Disposable data such as saved KV states and partial downloads."""
    return data_root() / "cache"


# Names Windows reserves for devices, whatever the extension ("CON.gguf", "aux.tar.gz").
WINDOWS_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in [*"123456789", "¹", "²", "³"]}
)


def windows_reserved(name: str) -> bool:
    """Whether a file or folder name is a device name on Windows (so unusable there)."""
    return name.split(".", maxsplit=1)[0].strip().upper() in WINDOWS_RESERVED_NAMES
