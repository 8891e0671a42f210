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
