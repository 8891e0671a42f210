"""Plain records the document index hands out (no SQLite types leak past ``index``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Collection:
    """A named set of files and folders."""

    id: int
    name: str
    embedding_model: str | None


@dataclass(frozen=True)
class CollectionSummary:
    """A collection with its counts, for listings."""

    name: str
    sources: tuple[str, ...]
    files: int
    indexed: int
    failed: int
    pages: int
    chunks: int
    vectors: int
    embedding_model: str | None


@dataclass(frozen=True)
class FileRecord:
    """What the index knows of one file."""

    id: int
    path: str
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    state: str
    error: str | None
    pages: int
    chunks: int


@dataclass(frozen=True)
class ChunkHit:
    """A retrieved chunk with its provenance and score (higher is better)."""

    chunk_id: int
    file: str
    page: int | None
    line_start: int
    line_end: int
    char_start: int
    char_end: int
    text: str
    score: float

    def to_dict(self) -> dict[str, object]:
        """The JSON form (``chatdesk docs search --json``, stored citations)."""
        return {
            "file": self.file,
            "page": self.page,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "score": self.score,
            "text": self.text,
        }
