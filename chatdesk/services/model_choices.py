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
    size: int = 0  # bytes of the file (0: unknown, a remote model)
    quantization: str = ""  # from the file name ("Q4_K_M"), "" when it names none
    fit: str = ""  # "fits", "tight", "won't fit" in this machine's memory ("": not known yet)

    def details(self) -> str:
        """ "98 MB · Q4_1 · fits": what the picker shows after the name."""
        size = f"{self.size / 1e9:.1f} GB" if self.size >= 1e9 else f"{self.size / 1e6:.0f} MB"
        parts = [size if self.size else "", self.quantization, self.fit]
        return " · ".join(part for part in parts if part)


def open_library(root: Path | None = None) -> Library:
    """The local library under a data root (resolved by the caller: threads must not guess)."""
    from chatdesk.hub import registry
    from chatdesk.hub.library import Library

    root = root or paths.data_root()
    return Library(root / "models", registry_file=root / registry.REGISTRY_NAME)


def scan_library(root: Path | None = None) -> dict[str, str]:
    """Usable local models: path -> name to show."""
    from chatdesk.hub.system import machine_memory

    machine_memory()  # measured here, off the GUI thread, for the picker's "fits"
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
        choices.append(local_choice(path, library.get(path, Path(path).name)))
    return choices + remote_choices(recent, remote or {})


def local_choice(path: str, label: str) -> ModelChoice:
    """A model file with its size, quantisation and whether it fits this machine's memory
    (once ``scan_library`` measured the memory: never a subprocess on the caller's thread)."""
    from chatdesk.hub.names import parse_quantization
    from chatdesk.hub.system import estimate_fit, machine_memory

    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError:
        return ModelChoice(path, label, False)
    measured = machine_memory.cache_info().currsize > 0
    fit = str(estimate_fit(size, machine_memory())) if measured else ""
    return ModelChoice(path, label, True, "", size, parse_quantization(file.name) or "", fit)


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


class ModelNameError(LookupError):
    """A model name that matches no installed model, or more than one (the message lists
    the installed models so the user can pick)."""


def display_name(path: str | Path, models_root: Path | None = None) -> str:
    """The name a user knows a local model by: its repository's name for a download
    (``models/OWNER/REPO/file.gguf`` -> ``REPO``), else the file name without ``.gguf``."""
    path = Path(path)
    root = models_root or paths.models_dir()
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = ()
    if len(parts) == 3 and parts[0] != "local":
        return parts[1]
    return path.name.removesuffix(".gguf")


def find_model(name: str, root: Path | None = None) -> Path:
    """The local model ``name`` means: a path to a file; else, among the installed models
    (as ``models list`` shows them), the one whose name contains ``name``, ignoring case
    (``smollm2`` finds ``HuggingFaceTB/SmolLM2-135M-Instruct/...``), an exact file name
    winning over partial matches. Raises ModelNameError when none or several match."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    if path.exists():
        raise ModelNameError(f"{name} is not a model file")
    installed = scan_library(root)
    wanted = name.lower().removesuffix(".gguf")
    exact = [p for p in installed if Path(p).name.lower().removesuffix(".gguf") == wanted]
    found = exact or [p for p, shown in _names(installed).items() if wanted in shown.lower()]
    if len(found) == 1:
        return Path(found[0])
    listing = ", ".join(sorted(_names(installed).values())) or "none (chatdesk models starter)"
    if found:
        matches = ", ".join(sorted(_names(installed)[p] for p in found))
        raise ModelNameError(f"more than one model matches {name!r}: {matches}")
    raise ModelNameError(f"no model matches {name!r}; installed: {listing}")


def _names(installed: dict[str, str]) -> dict[str, str]:
    """Installed model path -> the name to match and show (its place in the library)."""
    root = paths.models_dir()
    shown = {}
    for path in installed:
        try:
            shown[path] = Path(path).relative_to(root).as_posix()
        except ValueError:
            shown[path] = path
    return shown


def default_model(settings: SettingsService, root: Path | None = None) -> Path:
    """The model to use when none is named: the last one used, while it is on disk; else
    the only installed one. Raises ModelNameError (listing the models) otherwise."""
    last = settings.last_model()
    if last and parse_remote_model_key(last) is None and Path(last).is_file():
        return Path(last)
    installed = scan_library(root)
    if len(installed) == 1:
        return Path(next(iter(installed)))
    listing = ", ".join(sorted(_names(installed).values())) or "none (chatdesk models starter)"
    raise ModelNameError(f"name a model; installed: {listing}")


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
