"""Untrusted text made safe to print on a terminal.

Tool output, MCP answers and the like may carry terminal control sequences (ESC, CSI,
OSC 52 writing the clipboard, a carriage return that hides a line, a bell...). Every
control character except newline and tab is shown as a visible ``\\xNN`` instead, so the
terminal prints the text and obeys none of it.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe_for_terminal(text: str) -> str:
    """``text`` with every control character but ``\\n`` and ``\\t`` made visible."""
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
