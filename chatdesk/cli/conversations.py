"""Command group placeholder: its owner replaces this with the real commands."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add this group's sub-commands to the chatdesk parser."""
    del commands


__all__ = ["argparse", "register"]
