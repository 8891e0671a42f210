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
from chatdesk.services.remote_engines import parse_remote_model_key, remote_model_key
from chatdesk.services.settings import SettingsService

if TYPE_CHECKING:
    from chatdesk.hub.library import Library


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker."""

    path: str
    label: str
    exists: bool
    group: str = ""  # "": local models; "Remote: NAME" for a remote engine's models


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


def model_choices(
    settings: SettingsService,
    library: dict[str, str],
    remote: dict[str, list[str]] | None = None,
) -> list[ModelChoice]:
    """Local models (recently used first, then the library), then each remote engine's
    models as a group (``remote``: engine name -> model ids, as fetched)."""
    choices: list[ModelChoice] = []
    seen: set[str] = set()
    recent = settings.recent_models()
    for path in [*recent, *library]:
        if path in seen or parse_remote_model_key(path) is not None:
            continue
        seen.add(path)
        file = Path(path)
        choices.append(ModelChoice(path, library.get(path, file.name), file.is_file()))
    return choices + remote_choices(recent, remote or {})


def remote_choices(recent: list[str], remote: dict[str, list[str]]) -> list[ModelChoice]:
    """Remote models grouped by engine; recently used ones first within their engine."""
    keyed: dict[str, list[str]] = {name: [] for name in sorted(remote)}
    for key in recent:
        parsed = parse_remote_model_key(key)
        if parsed is not None and parsed[0] in keyed:
            keyed[parsed[0]].append(parsed[1])
    choices = []
    for name, used in keyed.items():
        for model_id in dict.fromkeys([*used, *remote[name]]):
            choices.append(
                ModelChoice(remote_model_key(name, model_id), model_id, True, f"Remote: {name}")
            )
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
