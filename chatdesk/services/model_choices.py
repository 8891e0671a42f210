"""The models the picker offers: files in the local library plus every model used by path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chatdesk import paths
from chatdesk.services.settings import SettingsService


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker."""

    path: str
    label: str
    exists: bool


def library_files(root: Path | None = None) -> list[Path]:
    """Every .gguf under the models folder, sorted by path (split shards: first part only)."""
    root = root or paths.models_dir()
    if not root.is_dir():
        return []
    files = [p for p in root.rglob("*.gguf") if p.is_file() and not _later_shard(p.name)]
    return sorted(files)


def _later_shard(name: str) -> bool:
    """True for parts 2..n of a split model (``-00002-of-00003.gguf``)."""
    stem = name.removesuffix(".gguf")
    parts = stem.rsplit("-", 3)
    return len(parts) == 4 and parts[2] == "of" and parts[1].isdigit() and int(parts[1]) > 1


def model_choices(settings: SettingsService, root: Path | None = None) -> list[ModelChoice]:
    """Recent models first (most recent on top), then the rest of the library by name."""
    choices: list[ModelChoice] = []
    seen: set[str] = set()
    for path in [*settings.recent_models(), *map(str, library_files(root))]:
        if path in seen:
            continue
        seen.add(path)
        file = Path(path)
        choices.append(ModelChoice(path, file.name, file.is_file()))
    return choices


def initial_model(settings: SettingsService, choices: list[ModelChoice]) -> str | None:
    """The model to select at start: the last used one, else the only one available."""
    last = settings.last_model()
    existing = [c.path for c in choices if c.exists]
    if last in existing:
        return last
    return existing[0] if len(existing) == 1 else None
