"""Incremental detokenising: token byte pieces in, whole-character text out.

llama.cpp hands out each token as raw bytes; a Chinese character or an emoji is often
split over two or more tokens. ``StreamingText`` decodes the bytes incrementally (an
incomplete UTF-8 sequence waits for its continuation, and is dropped if the reply ends
first; bytes that can never be text become U+FFFD), drops the reply's leading
whitespace, and holds back text that might be the start of a stop string, so a stop
string never reaches the user and nothing after it is emitted. Work per token is
proportional to the token, never to the reply so far. ``through`` and ``settled`` count
characters so that a token's probabilities can wait for its text (``ProbabilityProbe``).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable


class StreamingText:
    """Feed token pieces with ``push``; emit what it returns; call ``finish`` at the end."""

    def __init__(self, stop: Iterable[str] = (), strip_leading: bool = True) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stops = sorted({s for s in stop if s}, key=len)
        self._pending = ""
        self._started = not strip_leading
        self._decoded = 0  # characters decoded so far
        self.settled = 0  # of those, how many are out (shown, or dropped leading space)
        self.stopped = False  # True once a stop string was found (the reply is over)

    @property
    def through(self) -> int:
        """Characters the pieces pushed so far end in, one still incomplete counted: the
        last piece's text is all out once ``settled`` reaches this."""
        return self._decoded + (1 if self._decoder.getstate()[0] else 0)

    def push(self, piece: bytes) -> str:
        """Add one token's bytes; the text that can be shown now (maybe empty)."""
        if self.stopped:
            return ""
        text = self._decoder.decode(piece)
        self._decoded += len(text)
        return self._accept(text)

    def finish(self) -> str:
        """End of the reply: flush held-back text. A character the reply was cut off inside
        (its token limit reached halfway through its bytes) is left out, not shown as
        U+FFFD: the reply then ends where the KV cache's pieces of it end
        (``kv_context.reply_pieces``), and Continue writes the character whole."""
        if self.stopped:
            return ""
        self._decoder.reset()
        text, self._pending = self._pending, ""
        self.settled = self._decoded
        return text

    def _accept(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            if not text:
                self.settled = self._decoded
                return ""
            self._started = True
        pending = self._pending + text
        cut = self._first_stop(pending) if self._stops else None
        if cut is not None:
            self.stopped = True
            self._pending = ""
        else:
            cut = len(pending) - self._stop_prefix_length(pending)
            self._pending = pending[cut:]
        self.settled = self._decoded - len(pending) + cut
        return pending[:cut]

    def _first_stop(self, text: str) -> int | None:
        found = [index for stop in self._stops if (index := text.find(stop)) >= 0]
        return min(found) if found else None

    def _stop_prefix_length(self, text: str) -> int:
        """Length of the longest end of ``text`` that a stop string starts with."""
        best = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), best, -1):
                if stop.startswith(text[-size:]):
                    best = size
                    break
        return best
