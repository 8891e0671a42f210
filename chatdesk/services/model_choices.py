"""The models the picker offers: the local library (downloads, imports, the Hugging Face cache,
models once loaded by path) plus the models this window used, most recent first."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from chatdesk.hub.library import Library, LibraryError
from chatdesk.services.settings import SettingsService


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker."""

    path: str
    label: str
    exists: bool


def model_choices(settings: SettingsService, library: Library | None = None) -> list[ModelChoice]:
    """Recently used models first, then the rest of the library in its own order."""
    library = library or Library()
    local = library.list_models(with_metadata=False)
    labels = {str(m.path): Path(m.name).name for m in local if m.problem is None}
    choices: list[ModelChoice] = []
    seen: set[str] = set()
    for path in [*settings.recent_models(), *labels]:
        if path in seen:
            continue
        seen.add(path)
        file = Path(path)
        choices.append(ModelChoice(path, labels.get(path, file.name), file.is_file()))
    return choices


def remember_used(path: str, library: Library | None = None) -> None:
    """Record a model loaded by path in the library's registry (the Models dialog lists it)."""
    with contextlib.suppress(LibraryError, OSError):
        (library or Library()).remember_used(Path(path))


def initial_model(settings: SettingsService, choices: list[ModelChoice]) -> str | None:
    """The model to select at start: the last used one, else the only one available."""
    last = settings.last_model()
    existing = [c.path for c in choices if c.exists]
    if last in existing:
        return last
    return existing[0] if len(existing) == 1 else None
