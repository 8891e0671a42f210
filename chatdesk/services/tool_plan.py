"""Which way the loaded model uses tools, in words for the window (the rules live in
``chatdesk.tools.formats``; the engine host writes the tools in and holds calls to a grammar).
"""

from __future__ import annotations

from chatdesk.tools.formats import describe_tool_format

__all__ = ["describe_tool_format"]
