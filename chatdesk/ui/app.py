"""Start the Qt application (placeholder until the desktop window lands)."""

from __future__ import annotations

import sys


def run_app(argv: list[str]) -> int:
    """Open the main window and run the event loop; returns the exit status."""
    del argv
    print("chatdesk: the desktop window is not built yet", file=sys.stderr)
    return 1
