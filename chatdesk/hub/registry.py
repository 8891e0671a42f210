"""Models used by path: a small JSON file (``library.json``) under the data root.

The model picker lists every model ever loaded from a path outside the library, so a user
who once opened ``~/Downloads/foo.gguf`` finds it again. A damaged file is set aside (renamed
with a ``.corrupt`` suffix), never silently overwritten.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from chatdesk import paths

REGISTRY_NAME = "library.json"
MAX_ENTRIES = 200


@dataclass(frozen=True)
class UsedModel:
    """A model file once used by path, and when (seconds since the epoch)."""

    path: Path
    last_used: float


def registry_path() -> Path:
    """The registry file under the data root."""
    return paths.data_root() / REGISTRY_NAME


def used_models(path: Path | None = None) -> list[UsedModel]:
    """Every remembered model, most recently used first."""
    entries = _read(path or registry_path())
    return sorted(entries, key=lambda entry: entry.last_used, reverse=True)


def remember_model(model_path: Path, path: Path | None = None) -> None:
    """Record that ``model_path`` was used now (moves it to the top)."""
    target = path or registry_path()
    resolved = model_path.expanduser().resolve()
    entries = [entry for entry in _read(target) if entry.path != resolved]
    entries.insert(0, UsedModel(resolved, time.time()))
    _write(target, entries[:MAX_ENTRIES])


def forget_model(model_path: Path, path: Path | None = None) -> bool:
    """Drop ``model_path`` from the registry; True if it was there."""
    target = path or registry_path()
    resolved = model_path.expanduser().resolve()
    entries = _read(target)
    kept = [entry for entry in entries if entry.path != resolved]
    if len(kept) != len(entries):
        _write(target, kept)
    return len(kept) != len(entries)


def _read(path: Path) -> list[UsedModel]:
    """The entries in ``path``; a malformed file is set aside and read as empty."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return [
            UsedModel(Path(item["path"]), float(item["last_used"])) for item in document["used"]
        ]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError):
        os.replace(path, path.with_name(f"{path.name}.corrupt-{int(time.time())}"))
        return []


def _write(path: Path, entries: list[UsedModel]) -> None:
    """Write atomically: a temporary file renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": 1,
        "used": [{"path": str(entry.path), "last_used": entry.last_used} for entry in entries],
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2), encoding="utf-8")
    os.replace(temporary, path)
