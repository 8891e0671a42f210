"""Exceptions of export and import."""

from __future__ import annotations


class ExportError(Exception):
    """Export or import failed; the message says what and where, and nothing was written."""


class ImportFormatError(ExportError, ValueError):
    """An import file that is not valid JSON or not in the ChatDesk format."""
