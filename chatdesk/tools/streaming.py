"""Tool calls recognised in a reply while it streams, so a call is never shown as text.

``ToolCallStream`` sits between the engine's text pieces and the screen. It passes text
through, holding back only a tail that could be the beginning of a call marker (a few
characters). When a marker of one of its formats appears, everything from there on is the
call section: hidden, and read into calls when the reply ends (``finish``).

The generic JSON reader (Llama 3.x writes ``{"name": ..., "parameters": ...}`` as the whole
reply; many small models do the same) applies only to a reply that starts with ``{``, ``[``
or a ```json fence: the start is held back until its first key shows whether it is a call
(``name``, ``type``, ``function``, ``tool_name``); a reply whose first key is anything else,
or that stays undecided for ``MAX_UNDECIDED`` characters, is text after all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from chatdesk.tools.calls import ToolCall
from chatdesk.tools.formats import FORMATS, CallFormat, read_json_section

MAX_UNDECIDED = 400
_JSON_START = re.compile(r'\s*(?:```(?:json)?\s*)?\[?\s*\{\s*"([^"]*)"\s*:', re.S)
# A start that may still become a JSON call: an opening fence, brackets, a partial key.
_JSON_OPENING = re.compile(
    r'\s*(?:`{1,3}(?:j(?:s(?:o(?:n)?)?)?)?\s*)?(?:[\[{]\s*\{?\s*(?:"[^"]*"?\s*)?)?'
)
CALL_KEYS = frozenset({"name", "type", "function", "tool_name"})


@dataclass
class ParsedReply:
    """A finished reply: the text to show and the calls it made."""

    content: str
    calls: list[ToolCall] = field(default_factory=list)


class ToolCallStream:
    """Feed reply text in pieces; get back the text safe to show; ``finish`` for the calls."""

    def __init__(self, formats: Iterable[str] | None = None, *, json_fallback: bool = True):
        names = list(formats) if formats is not None else list(FORMATS)
        self._formats = [FORMATS[name] for name in names]
        self._markers = sorted({m for f in self._formats for m in f.markers}, key=len)
        self._json_fallback = json_fallback
        self._pending = ""  # received, not yet shown, not yet known to be a call
        self._shown: list[str] = []
        self._section: str | None = None  # the call section, once one started
        self._reader: CallFormat | None = None

    @property
    def in_call(self) -> bool:
        """True once a tool call has started (the rest of the reply is hidden)."""
        return self._section is not None

    def feed(self, text: str) -> str:
        """Add a piece of the reply; returns the text that can be shown now."""
        if self._section is not None:
            self._section += text
            return ""
        self._pending += text
        return self._release()

    def finish(self) -> ParsedReply:
        """The reply ended: the text to show (all of it) and the calls."""
        calls: list[ToolCall] = []
        if self._section is None and self._json_candidate():
            calls, rest = read_json_section(self._pending)
            if calls and not all(c.error for c in calls):
                self._section, self._pending = self._pending, rest
            else:
                calls = []
        if self._section is not None and self._reader is not None:
            calls, rest = self._reader.read(self._section)
            self._shown.append(rest.strip() and "\n" + rest.strip())
        else:
            self._shown.append(self._pending)
        self._pending = ""
        return ParsedReply("".join(self._shown).strip(), calls)

    def _release(self) -> str:
        start = self._marker_start()
        if start is not None:
            index, fmt = start
            shown = self._pending[:index]
            self._section, self._reader, self._pending = self._pending[index:], fmt, ""
            return self._show(shown)
        if self._json_candidate():
            return self._json_decision()
        keep = self._partial_marker_length()
        cut = len(self._pending) - keep
        shown, self._pending = self._pending[:cut], self._pending[cut:]
        return self._show(shown)

    def _show(self, text: str) -> str:
        self._shown.append(text)
        return text

    def _marker_start(self) -> tuple[int, CallFormat] | None:
        best: tuple[int, int, CallFormat] | None = None
        for fmt in self._formats:
            for marker in fmt.markers:
                index = self._pending.find(marker)
                if index >= 0 and (best is None or (index, -len(marker)) < best[:2]):
                    best = (index, -len(marker), fmt)
        return None if best is None else (best[0], best[2])

    def _partial_marker_length(self) -> int:
        """Length of the longest tail of the pending text that begins some marker."""
        text = self._pending
        for size in range(min(len(text), max(map(len, self._markers), default=0)), 0, -1):
            tail = text[-size:]
            if any(marker.startswith(tail) for marker in self._markers):
                return size
        return 0

    def _json_candidate(self) -> bool:
        """Nothing shown yet and the reply so far could be a JSON tool call."""
        if not self._json_fallback or "".join(self._shown).strip():
            return False
        return bool(_JSON_START.match(self._pending) or _JSON_OPENING.fullmatch(self._pending))

    def _json_decision(self) -> str:
        key = _JSON_START.match(self._pending)
        if key and key[1] in CALL_KEYS:
            self._section, self._reader, self._pending = self._pending, _JSON_FORMAT, ""
            return ""
        if key or len(self._pending) > MAX_UNDECIDED:
            self._json_fallback = False
            return self._release()
        return ""


_JSON_FORMAT = CallFormat("json", (), read_json_section)


def parse_reply(text: str, formats: Iterable[str] | None = None) -> ParsedReply:
    """A whole reply at once (the same rules as streaming it)."""
    stream = ToolCallStream(formats)
    stream.feed(text)
    return stream.finish()
