"""Shared fixtures: every test gets its own empty ChatDesk data root."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def chatdesk_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point CHATDESK_HOME at a fresh folder so no test touches a real user's data."""
    home = tmp_path_factory.mktemp("chatdesk-home")
    monkeypatch.setenv("CHATDESK_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home
