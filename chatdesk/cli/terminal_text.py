"""Untrusted text made safe to print on a terminal.

Tool output, MCP answers and the like may carry terminal control sequences (ESC, CSI,
OSC 52 writing the clipboard, a carriage return that hides a line, a bell...). Every
control character except newline and tab is shown as a visible ``\\xNN`` instead, so the
terminal prints the text and obeys none of it.

Columns are laid out by display width, not by ``len``: East Asian wide and full-width
characters (``小模型``) take two cells, combining marks none.
"""

from __future__ import annotations

import re
import unicodedata

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe_for_terminal(text: str) -> str:
    """``text`` with every control character but ``\\n`` and ``\\t`` made visible."""
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def display_width(text: str) -> int:
    """How many terminal cells ``text`` takes (wide characters 2, combining marks 0)."""
    return sum(_cells(char) for char in text)


def _cells(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal cells (``str.ljust`` by display width)."""
    return text + " " * max(0, width - display_width(text))
