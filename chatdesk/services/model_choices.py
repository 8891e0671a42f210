"""The models the picker offers: the models this window used (most recent first) plus the
local library (downloads, imports, the Hugging Face cache, models once loaded by path).

Scanning the library imports the hub layer and walks folders, so the window runs
``scan_library`` off its GUI thread; the picker shows the recent models until the scan is done.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatdesk import paths
from chatdesk.services.settings import SettingsService

if TYPE_CHECKING:
    from chatdesk.hub.library import Library


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker."""

    path: str
    label: str
    exists: bool


def open_library(root: Path | None = None) -> Library:
    """The local library under a data root (resolved by the caller: threads must not guess)."""
    from chatdesk.hub import registry
    from chatdesk.hub.library import Library

    root = root or paths.data_root()
    return Library(root / "models", registry_file=root / registry.REGISTRY_NAME)


def scan_library(root: Path | None = None) -> dict[str, str]:
    """Usable local models: path -> name to show."""
    return {
        str(model.path): Path(model.name).name
        for model in open_library(root).list_models(with_metadata=False)
        if model.problem is None
    }


def model_choices(settings: SettingsService, library: dict[str, str]) -> list[ModelChoice]:
    """Recently used models first, then the rest of the library in its own order."""
    choices: list[ModelChoice] = []
    seen: set[str] = set()
    for path in [*settings.recent_models(), *library]:
        if path in seen:
            continue
        seen.add(path)
        file = Path(path)
        choices.append(ModelChoice(path, library.get(path, file.name), file.is_file()))
    return choices


def remember_used(path: str, root: Path | None = None) -> None:
    """Record a model loaded by path in the library's registry (the Models dialog lists it)."""
    from chatdesk.hub.library import LibraryError

    with contextlib.suppress(LibraryError, OSError):
        open_library(root).remember_used(Path(path))


def remember_used_async(path: str) -> None:
    """``remember_used`` on a daemon thread (the hub layer is slow to import)."""
    args = (path, paths.data_root())
    threading.Thread(target=remember_used, args=args, daemon=True).start()


def initial_model(settings: SettingsService, choices: list[ModelChoice]) -> str | None:
    """The model to select at start: the last used one, else the only one available."""
    last = settings.last_model()
    existing = [c.path for c in choices if c.exists]
    if last in existing:
        return last
    return existing[0] if len(existing) == 1 else None
