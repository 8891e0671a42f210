"""The local model library: downloaded and imported models, the Hugging Face cache, and
models used by path.

Layout: ``models/<owner>/<repo>/<file>.gguf`` for downloads, ``models/local/<file>.gguf`` for
imports. Anything under a dot-folder (``models/.downloads`` holds partial downloads) or not
ending in ``.gguf`` is never listed. Split models (``-00001-of-00003``) list once, by their
first shard. Metadata comes from the GGUF header only (weights are never loaded) and is cached
per file size and modification time; a file shorter than its tensors need is flagged.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from huggingface_hub import constants, scan_cache_dir
from huggingface_hub.errors import CacheNotFound

from chatdesk import paths
from chatdesk.gguf_metadata import GGUFError, GGUFMetadata, read_gguf_metadata
from chatdesk.hub import registry
from chatdesk.hub.download import free_disk_bytes
from chatdesk.hub.errors import DiskFullError, InvalidNameError, LibraryError
from chatdesk.hub.names import check_local_filename, parse_quantization, split_part

Source = Literal["library", "hf-cache", "used"]
ImportMode = Literal["copy", "hardlink", "symlink"]
IMPORT_FOLDER = "local"
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class LocalModel:
    """A model on this machine, ready to load by ``path``."""

    name: str
    path: Path
    size_bytes: int
    source: Source
    repo_id: str | None = None
    quantization: str | None = None
    shards: int = 1
    metadata: GGUFMetadata | None = None  # from the header, when it reads
    problem: str | None = None  # why the model cannot be used (missing shard, bad header)


class Library:
    """Finds, imports and deletes local models."""

    def __init__(
        self,
        models_root: Path | None = None,
        *,
        registry_file: Path | None = None,
        hf_cache_dir: Path | None = None,
    ) -> None:
        self.models_root = models_root or paths.models_dir()
        self.registry_file = registry_file
        self.hf_cache_dir = hf_cache_dir
        self._metadata_cache: dict[
            tuple[Path, int, int], tuple[GGUFMetadata | None, str | None]
        ] = {}
        self._lock = threading.Lock()

    def list_models(self, *, with_metadata: bool = True) -> list[LocalModel]:
        """Library models, then models in the HF cache, then models used by path."""
        models = self.library_models() + self.hf_cache_models()
        known = {model.path.resolve() for model in models}
        models += [m for m in self.used_models() if m.path.resolve() not in known]
        return [self._with_metadata(m) for m in models] if with_metadata else models

    def library_models(self) -> list[LocalModel]:
        """Verified models under the models folder (never partial downloads)."""
        root = self.models_root
        if not root.is_dir():
            return []
        files = [
            path
            for path in sorted(root.rglob("*.gguf"))
            if path.is_file() and not _hidden(path.relative_to(root))
        ]
        return [
            LocalModel(
                name=group[0].relative_to(root).as_posix(),
                path=group[0],
                size_bytes=sum(_size(part) for part in group),
                source="library",
                repo_id=_repo_of(group[0].relative_to(root)),
                quantization=parse_quantization(group[0].name),
                shards=len(group),
                problem=_shard_problem(group),
            )
            for group in _group_shards(files)
        ]

    def hf_cache_models(self) -> list[LocalModel]:
        """GGUF files already downloaded by other tools into the Hugging Face cache."""
        try:
            cache = scan_cache_dir(self.hf_cache_dir or Path(constants.HF_HUB_CACHE))
        except (CacheNotFound, OSError, ValueError):
            return []
        found: list[LocalModel] = []
        for repo in sorted(cache.repos, key=lambda r: r.repo_id):
            if repo.repo_type != "model":
                continue
            for revision in sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True):
                files = [f.file_path for f in revision.files if f.file_name.endswith(".gguf")]
                for group in _group_shards(sorted(files)):
                    relative = group[0].relative_to(revision.snapshot_path).as_posix()
                    found.append(
                        LocalModel(
                            name=f"hf-cache/{repo.repo_id}/{relative}",
                            path=group[0],
                            size_bytes=sum(_size(part) for part in group),
                            source="hf-cache",
                            repo_id=repo.repo_id,
                            quantization=parse_quantization(group[0].name),
                            shards=len(group),
                            problem=_shard_problem(group),
                        )
                    )
                break  # the newest revision only
        return found

    def used_models(self) -> list[LocalModel]:
        """Models once loaded by path (from the registry), missing ones flagged."""
        return [
            LocalModel(
                name=str(entry.path),
                path=entry.path,
                size_bytes=_size(entry.path),
                source="used",
                quantization=parse_quantization(entry.path.name),
                problem=None if entry.path.is_file() else "file not found",
            )
            for entry in registry.used_models(self.registry_file)
        ]

    def remember_used(self, path: Path) -> None:
        """Record a model loaded by path so the model picker offers it again."""
        if not path.is_file() or not path.name.lower().endswith(".gguf"):
            raise LibraryError(f"not a .gguf file: {path}")
        registry.remember_model(path, self.registry_file)

    def find(self, name: str) -> LocalModel:
        """The model whose name or path is ``name``; LibraryError if there is none."""
        wanted = Path(name).expanduser()
        for model in self.list_models(with_metadata=False):
            if model.name == name or (wanted.is_absolute() and model.path == wanted):
                return model
        matches = [m for m in self.list_models(with_metadata=False) if m.path.name == name]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise LibraryError(
                f"{name!r} is ambiguous: use one of " + ", ".join(m.name for m in matches)
            )
        raise LibraryError(f"no local model named {name!r} (see `chatdesk models list`)")

    def delete(self, name: str) -> LocalModel:
        """Delete a library model (every shard) or forget a model used by path.

        Files in the Hugging Face cache or outside the library are never deleted here. A
        deleted model is forgotten as used too, or it would list again as "file not found".
        """
        model = self.find(name)
        if model.source == "hf-cache":
            raise LibraryError(
                f"{model.name} lives in the Hugging Face cache; remove it with `hf cache delete`"
            )
        if model.source == "used":
            registry.forget_model(model.path, self.registry_file)
            return model
        registry.forget_model(model.path, self.registry_file)
        for part in _shard_paths(model.path):
            part.unlink(missing_ok=True)
        _remove_empty_parents(model.path.parent, self.models_root)
        return model

    def import_file(self, source: Path, mode: ImportMode = "copy") -> LocalModel:
        """Bring a .gguf (every shard of a split one) into ``models/local/``."""
        source = source.expanduser()
        _check_importable(source)
        parts = _shard_paths(source) if split_part(source.name) else [source]
        destination = self.models_root / IMPORT_FOLDER
        if mode == "copy":
            needed = sum(_size(part) for part in parts)
            if free_disk_bytes(destination) < needed:
                raise DiskFullError(f"not enough disk space to copy {source.name}")
        destination.mkdir(parents=True, exist_ok=True)
        for part in parts:
            _import_one(part, destination / part.name, mode)
        first = destination / parts[0].name
        return self._with_metadata(next(m for m in self.library_models() if m.path == first))

    def _with_metadata(self, model: LocalModel) -> LocalModel:
        """``model`` with its GGUF header metadata (or the reason it could not be read)."""
        if model.problem is not None:
            return model
        try:
            stat = model.path.stat()
        except OSError as error:
            return replace(model, problem=f"cannot read: {error.strerror}")
        key = (model.path, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._metadata_cache.get(key)
        if cached is None:
            cached = read_metadata(model.path)
            with self._lock:
                self._metadata_cache[key] = cached
        metadata, problem = cached
        return replace(model, metadata=metadata, problem=problem)


def read_metadata(path: Path) -> tuple[GGUFMetadata | None, str | None]:
    """(metadata, None) from the GGUF header, or (None, reason) for a bad or unreadable file.

    A file cut short (an interrupted copy) is bad too: the loader would refuse it."""
    try:
        return read_gguf_metadata(path, complete=True), None
    except GGUFError as error:
        return None, f"not a usable GGUF file: {error.reason}"
    except OSError as error:
        return None, f"cannot read: {error.strerror or error}"


def _hidden(relative: Path) -> bool:
    """True for anything inside a dot-folder or named with a leading dot."""
    return any(part.startswith(".") for part in relative.parts)


def _size(path: Path) -> int:
    """File size in bytes, 0 if missing."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _repo_of(relative: Path) -> str | None:
    """``owner/repo`` for ``owner/repo/.../file.gguf`` paths; None for imports."""
    parts = relative.parts
    return f"{parts[0]}/{parts[1]}" if len(parts) >= 3 and parts[0] != IMPORT_FOLDER else None


def _group_shards(files: Iterable[Path]) -> list[list[Path]]:
    """Single files alone; shards of one split model together, first shard first.

    A lone shard that is not the first still lists (flagged) so it can be deleted.
    """
    groups: dict[tuple[Path, str], list[Path]] = {}
    for path in files:
        part = split_part(path.name)
        key = (path.parent, path.name if part is None else f"{part.base}-of-{part.total}")
        groups.setdefault(key, []).append(path)
    return [sorted(group, key=lambda p: p.name) for group in groups.values()]


def _shard_problem(group: list[Path]) -> str | None:
    """Why a split model is unusable (missing shards), or None."""
    part = split_part(group[0].name)
    if part is None:
        return None
    present = {split_part(path.name).index for path in group if split_part(path.name)}  # type: ignore[union-attr]
    missing = sorted(set(range(1, part.total + 1)) - present)
    return f"missing shard(s) {', '.join(map(str, missing))} of {part.total}" if missing else None


def _shard_paths(path: Path) -> list[Path]:
    """Every shard on disk next to ``path`` belonging to the same split model (or [path])."""
    part = split_part(path.name)
    if part is None:
        return [path]
    return sorted(
        sibling
        for sibling in path.parent.glob("*.gguf")
        if (other := split_part(sibling.name))
        and (other.base, other.total) == (part.base, part.total)
    )


def _remove_empty_parents(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents while empty, stopping at ``root``."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _check_importable(source: Path) -> None:
    """A readable file named .gguf that starts with the GGUF magic bytes."""
    try:
        check_local_filename(source.name)
    except InvalidNameError as error:
        raise LibraryError(str(error)) from error
    if not source.is_file():
        raise LibraryError(f"no such file: {source}")
    try:
        with source.open("rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise LibraryError(f"cannot read {source}: {error.strerror}") from error
    if magic != GGUF_MAGIC:
        raise LibraryError(f"{source.name} is not a GGUF file (bad magic bytes)")


def _import_one(source: Path, target: Path, mode: ImportMode) -> None:
    """Copy or link one file; a copy goes through a hidden temporary name, then renames."""
    if target.exists() or target.is_symlink():
        if target.resolve() == source.resolve():
            return
        raise LibraryError(f"a different model named {target.name} is already in the library")
    try:
        if mode == "hardlink":
            os.link(source, target)
        elif mode == "symlink":
            target.symlink_to(source.resolve())
        else:
            temporary = target.with_name(f".{target.name}.importing")
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
    except OSError as error:
        target.with_name(f".{target.name}.importing").unlink(missing_ok=True)
        raise LibraryError(
            f"cannot import {source.name} ({mode}): {error.strerror or error}"
        ) from error
