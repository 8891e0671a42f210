"""Plain records the document index hands out (no SQLite types leak past ``index``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


@dataclass(frozen=True)
class Passage:
    """A numbered piece of a document given to the model (and stored with the reply)."""

    number: int
    file: str
    page: int | None
    line_start: int
    line_end: int
    text: str
    score: float

    @property
    def label(self) -> str:
        """``report.pdf, page 3`` or ``notes.md, lines 10-24``."""
        name = Path(self.file).name
        if self.page is not None:
            return f"{name}, page {self.page}"
        if self.line_start == self.line_end:
            return f"{name}, line {self.line_start}"
        return f"{name}, lines {self.line_start}-{self.line_end}"

    def to_dict(self) -> dict[str, object]:
        """The stored and exported form."""
        return {
            "number": self.number,
            "file": self.file,
            "page": self.page,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "score": self.score,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        """Read back a stored passage."""
        page = data.get("page")
        return cls(
            int(data["number"]),
            str(data["file"]),
            None if page is None else int(page),
            int(data["line_start"]),
            int(data["line_end"]),
            str(data["text"]),
            float(data["score"]),
        )
