"""Fixtures for the store tests: a fresh Store in the test's own data root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.store import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's database lives."""
    return tmp_path / "data" / "chatdesk.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """An open, migrated store, closed after the test."""
    opened = Store(db_path)
    yield opened
    opened.close()
