"""``chatdesk kv-cache``: how much RAM and disk kept conversation KV states may use.

The engine host keeps recently used conversations' KV states so that returning to one
evaluates only the new message (docs/architecture/switch-back.md): in RAM up to
``state_cache_mb`` (least recently used out), spilled to the cache folder up to
``state_disk_mb`` (0: none written). Without flags the command prints both budgets and
what the state files take on disk now; with flags it changes them (from the next load).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from chatdesk.cli.errors import CLIError
from chatdesk.services.command_services import CommandServices
from chatdesk.services.settings import SettingsError
from chatdesk.services.types import StoreError


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add ``chatdesk kv-cache`` to the chatdesk parser."""
    cache = commands.add_parser(
        "kv-cache", help="RAM and disk kept conversation states may use (switching back)"
    )
    cache.add_argument("--ram-mb", type=int, help="RAM for kept states (default 1024; 0: none)")
    cache.add_argument("--disk-mb", type=int, help="disk for them (default 4096; 0: none)")
    cache.set_defaults(handler=run_kv_cache)


def disk_use(root: Path) -> int:
    """Bytes the state files under ``root`` take (every model's folder)."""
    return sum(path.stat().st_size for path in root.glob("*/*.kvstate") if path.is_file())


def run_kv_cache(args: argparse.Namespace) -> int:
    """Print (and with flags, change) the kept-state budgets."""
    from chatdesk import paths

    changes = {
        key: value
        for key, value in (("state_cache_mb", args.ram_mb), ("state_disk_mb", args.disk_mb))
        if value is not None
    }
    try:
        with CommandServices.opened() as services:
            limits = services.settings.set_state_cache_limits(**changes) if changes else (
                services.settings.state_cache_limits()
            )  # fmt: skip
    except (SettingsError, StoreError) as error:
        raise CLIError(str(error)) from None
    used = disk_use(paths.cache_dir() / "kv-states")
    print(f"RAM for kept conversation states: {limits['state_cache_mb']} MB")
    print(f"disk for them: {limits['state_disk_mb']} MB (now {used / 2**20:.1f} MB used)")
    if changes:
        print("applies from the next model load")
    return 0
