"""Route llama.cpp's log to stderr (the client keeps its tail) and remember recent lines.

llama.cpp logs through a callback; ours writes each line to stderr, drops debug chatter,
and keeps the last lines so a failed load can quote llama.cpp's own reason.
"""

from __future__ import annotations

import collections
import ctypes
import re
import sys
import threading

import llama_cpp

# ggml_log_level (ggml.h): NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5
LEVEL_DEBUG = 1
LEVEL_ERROR = 4
LEVEL_CONT = 5

_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")


class LlamaLog:
    """The installed log callback and what it has seen."""

    def __init__(self, keep: int = 200) -> None:
        self.lines: collections.deque[tuple[int, str]] = collections.deque(maxlen=keep)
        self._partial = ""
        self._last_level = 0
        self._lock = threading.Lock()
        self._callback = llama_cpp.llama_log_callback(self._on_log)

    def install(self) -> None:
        """Make llama.cpp (and ggml) log through us."""
        llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))

    def _on_log(self, level: int, text: bytes | None, _user_data: ctypes.c_void_p) -> None:
        level = self._last_level if level == LEVEL_CONT else level
        self._last_level = level
        if level == LEVEL_DEBUG or not text:
            return
        chunk = text.decode("utf-8", errors="replace")
        with self._lock:
            sys.stderr.write(chunk)
            sys.stderr.flush()
            *complete, self._partial = (self._partial + chunk).split("\n")
            self.lines.extend((level, line) for line in complete if line.strip())

    def errors(self, limit: int = 3) -> list[str]:
        """The most recent error-level lines."""
        with self._lock:
            found = [line.strip() for level, line in self.lines if level == LEVEL_ERROR]
        return found[-limit:]

    def clear(self) -> None:
        """Forget remembered lines (before a load, so its errors are its own)."""
        with self._lock:
            self.lines.clear()

    def offloaded_layers(self) -> int | None:
        """Layers offloaded to the GPU according to the last load's log, if it said."""
        with self._lock:
            lines = [line for _level, line in self.lines]
        for line in reversed(lines):
            match = _OFFLOADED.search(line)
            if match:
                return int(match.group(1))
        return None
