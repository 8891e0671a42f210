"""The embedding models offered for documents: the ``embedding_models`` array of
``models/catalogue.json`` (kept apart from the chat ``models`` array, every entry of kind
``"embedding"``), with their task prefixes. Downloads go through the hub like chat models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOGUE_PATH = Path(__file__).resolve().parents[2] / "models" / "catalogue.json"


class EmbeddingCatalogueError(Exception):
    """The embedding part of the catalogue is malformed."""


@dataclass(frozen=True)
class EmbeddingModel:
    """A small embedding GGUF on the hub."""

    id: str
    name: str
    repo_id: str
    filename: str
    approx_size_bytes: int
    dimensions: int
    license: str
    document_prefix: str
    query_prefix: str
    description: str


def parse_entry(entry: dict[str, object]) -> EmbeddingModel:
    """One catalogue entry; EmbeddingCatalogueError names a missing or wrong field."""
    if entry.get("kind") != "embedding":
        raise EmbeddingCatalogueError(f"{entry.get('id')!r}: kind must be 'embedding'")
    try:
        return EmbeddingModel(
            id=str(entry["id"]),
            name=str(entry["name"]),
            repo_id=str(entry["repo_id"]),
            filename=str(entry["filename"]),
            approx_size_bytes=int(str(entry["approx_size_bytes"])),
            dimensions=int(str(entry["dimensions"])),
            license=str(entry["license"]),
            document_prefix=str(entry.get("document_prefix", "")),
            query_prefix=str(entry.get("query_prefix", "")),
            description=str(entry["description"]),
        )
    except (KeyError, ValueError) as error:
        raise EmbeddingCatalogueError(f"{entry.get('id')!r}: bad field {error}") from None


@cache
def embedding_models(path: Path = CATALOGUE_PATH) -> tuple[EmbeddingModel, ...]:
    """Every embedding model of the catalogue."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise EmbeddingCatalogueError(f"cannot read {path}: {error}") from error
    return tuple(parse_entry(entry) for entry in document.get("embedding_models", []))


def prefixes_for(model_path: str) -> tuple[str, str]:
    """(document prefix, query prefix) of the catalogue model with this file name."""
    name = Path(model_path).name.lower()
    for model in embedding_models():
        if model.filename.lower() == name:
            return model.document_prefix, model.query_prefix
    return "", ""
