"""Saved KV states of recently used conversations, bounded by bytes (least recently used out).

When the user switches from conversation A to B, the host saves A's KV cache (llama.cpp's
per-sequence state: only the cells in use) together with the tokens it holds. Switching
back restores it, so only the new message has to be evaluated instead of A's history.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class SavedState:
    """A conversation's KV cache contents and the tokens they correspond to."""

    tokens: tuple[int, ...]
    data: bytes
    pieces: tuple[bytes, ...] = ()  # each token's text, as in ``KVContext``

    @property
    def size(self) -> int:
        """Bytes this entry holds (roughly, for the tokens and pieces)."""
        return len(self.data) + 8 * len(self.tokens) + sum(len(p) + 40 for p in self.pieces)


class StateCache:
    """An LRU map from conversation key to ``SavedState``, at most ``max_bytes`` in total."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, SavedState] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def total_bytes(self) -> int:
        """Bytes held by all entries."""
        return self._bytes

    def put(self, key: str, state: SavedState) -> bool:
        """Store (or replace) ``key``'s state; False if it alone is larger than the budget."""
        self.discard(key)
        if state.size > self.max_bytes:
            return False
        self._entries[key] = state
        self._bytes += state.size
        while self._bytes > self.max_bytes:
            _key, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size
        return True

    def get(self, key: str) -> SavedState | None:
        """``key``'s state (now the most recently used), or None."""
        state = self._entries.get(key)
        if state is not None:
            self._entries.move_to_end(key)
        return state

    def discard(self, key: str) -> None:
        """Forget ``key``."""
        state = self._entries.pop(key, None)
        if state is not None:
            self._bytes -= state.size

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
        self._bytes = 0
