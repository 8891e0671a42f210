"""The types every extractor shares: a ``Section`` of text and the ``ExtractionError``."""

from __future__ import annotations

from dataclasses import dataclass


class ExtractionError(Exception):
    """The file cannot be indexed; the message is the one-line reason shown to the user."""


@dataclass(frozen=True)
class Section:
    """A piece of a document's text: its page (1-based or None) and first line (1-based).

    Line numbers are counted in the section's own text: line ``first_line + k`` of the
    document is the section's ``k``-th line (0-based ``k``), so a chunk's line range
    follows from the newlines before it.
    """

    text: str
    page: int | None
    first_line: int
