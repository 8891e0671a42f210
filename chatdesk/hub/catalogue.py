"""The curated catalogue of recommended models (``models/catalogue.json``), checked on load.

Also picks the model recommended for this machine: the largest catalogue model whose
default quantisation comfortably fits the machine's memory and, when the machine's memory
bandwidth is known, still writes comfortably fast (see chatdesk.hub.speed): an 8B model that
fits in RAM but decodes at 2 tokens/s on a small laptop is not recommended there.

Each entry may say how its repository and file names were checked (``verified``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatdesk.hub.errors import CatalogueError, HubError
from chatdesk.hub.names import check_gguf_filename, check_repo_id, parse_quantization
from chatdesk.hub.speed import COMFORTABLE_TOKENS_PER_SECOND, expected_tokens_per_second
from chatdesk.hub.system import Fit, MachineMemory, estimate_fit

CATALOGUE_PATH = Path(__file__).resolve().parents[2] / "models" / "catalogue.json"


@dataclass(frozen=True)
class CatalogueFile:
    """One downloadable quantisation of a catalogue model."""

    quantization: str
    filename: str
    approx_size_bytes: int


@dataclass(frozen=True)
class CatalogueModel:
    """One curated model: where it lives on the hub and what it is."""

    id: str
    name: str
    repo_id: str
    parameters: int
    context_length: int
    license: str
    description: str
    default_quantization: str
    files: tuple[CatalogueFile, ...]
    verified: str = ""  # how the repository and file names were checked, if they were

    @property
    def default_file(self) -> CatalogueFile:
        """The file of the default quantisation."""
        return next(f for f in self.files if f.quantization == self.default_quantization)

    def file_for(self, quantization: str) -> CatalogueFile | None:
        """The file of a quantisation label, or None."""
        wanted = quantization.upper()
        return next((f for f in self.files if f.quantization == wanted), None)


def load_catalogue(path: Path = CATALOGUE_PATH) -> list[CatalogueModel]:
    """Read and validate the catalogue; raises CatalogueError naming the first problem."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CatalogueError(f"cannot read model catalogue {path}: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("models"), list):
        raise CatalogueError(f"model catalogue {path} has no 'models' list")
    models = [_parse_model(entry, index) for index, entry in enumerate(document["models"])]
    ids = [model.id for model in models]
    if len(set(ids)) != len(ids):
        raise CatalogueError("model catalogue has duplicate ids")
    return models


def _require(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    """``entry[key]`` if present and of type ``kind`` (bools are not ints), else an error."""
    value = entry.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CatalogueError(f"catalogue {where}: '{key}' must be a {kind.__name__}")
    if isinstance(value, str) and not value.strip():
        raise CatalogueError(f"catalogue {where}: '{key}' is empty")
    if isinstance(value, int) and value <= 0:
        raise CatalogueError(f"catalogue {where}: '{key}' must be positive")
    return value


def _parse_model(entry: Any, index: int) -> CatalogueModel:
    """One validated catalogue entry."""
    where = f"entry {index}"
    if not isinstance(entry, dict):
        raise CatalogueError(f"catalogue {where} is not an object")
    raw_files = _require(entry, "files", list, where)
    if not raw_files:
        raise CatalogueError(f"catalogue {where}: 'files' is empty")
    try:
        check_repo_id(_require(entry, "repo_id", str, where))
        files = tuple(_parse_file(item, f"{where} file {n}") for n, item in enumerate(raw_files))
    except CatalogueError:
        raise
    except HubError as error:
        raise CatalogueError(f"catalogue {where}: {error}") from error
    model = CatalogueModel(
        id=_require(entry, "id", str, where),
        name=_require(entry, "name", str, where),
        repo_id=entry["repo_id"],
        parameters=_require(entry, "parameters", int, where),
        context_length=_require(entry, "context_length", int, where),
        license=_require(entry, "license", str, where),
        description=_require(entry, "description", str, where),
        default_quantization=_require(entry, "default_quantization", str, where),
        files=files,
        verified=_optional_text(entry, "verified", where),
    )
    if model.file_for(model.default_quantization) is None:
        raise CatalogueError(f"catalogue {where}: no file for the default quantisation")
    return model


def _optional_text(entry: dict[str, Any], key: str, where: str) -> str:
    """``entry[key]`` if it is a string, "" if absent; anything else is an error."""
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise CatalogueError(f"catalogue {where}: '{key}' must be a str")
    return value


def _parse_file(item: Any, where: str) -> CatalogueFile:
    """One validated file of a catalogue entry: the label must match the file name."""
    if not isinstance(item, dict):
        raise CatalogueError(f"catalogue {where} is not an object")
    filename = check_gguf_filename(_require(item, "filename", str, where))
    quantization = _require(item, "quantization", str, where)
    if parse_quantization(filename) != quantization:
        raise CatalogueError(f"catalogue {where}: {filename} is not {quantization}")
    return CatalogueFile(quantization, filename, _require(item, "approx_size_bytes", int, where))


def recommended_model(
    models: list[CatalogueModel], memory: MachineMemory, bandwidth: float | None = None
) -> CatalogueModel | None:
    """The largest model whose default file fits comfortably (and, with ``bandwidth`` in
    bytes/s, writes at least COMFORTABLE_TOKENS_PER_SECOND; the fastest fitting one if none
    does); the smallest one if only a tight fit exists; None if nothing fits at all.
    Ties keep catalogue order."""
    fitting = [
        m for m in models if estimate_fit(m.default_file.approx_size_bytes, memory) == Fit.FITS
    ]
    if fitting and bandwidth is not None:
        fast = [m for m in fitting if speed(m, memory, bandwidth) >= COMFORTABLE_TOKENS_PER_SECOND]
        if not fast:
            return max(fitting, key=lambda m: speed(m, memory, bandwidth))
        fitting = fast
    if fitting:
        return max(fitting, key=lambda m: m.parameters)
    tight = [
        m for m in models if estimate_fit(m.default_file.approx_size_bytes, memory) == Fit.TIGHT
    ]
    return min(tight, key=lambda m: m.default_file.approx_size_bytes) if tight else None


def speed(model: CatalogueModel, memory: MachineMemory, bandwidth: float) -> float:
    """Expected tokens per second of a model's default file here."""
    return expected_tokens_per_second(model.default_file.approx_size_bytes, bandwidth, memory)
