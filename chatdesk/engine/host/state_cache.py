"""Saved KV states of recently used conversations, bounded by bytes (least recently used out).

When the user switches from conversation A to B, the host saves A's KV cache (llama.cpp's
per-sequence state: only the cells in use) together with the tokens it holds, in RAM
(``StateCache``) and on disk under the cache folder (``DiskStates``, written in the
background), so switching back, even after the app restarted, restores it and only the
new message has to be evaluated instead of A's history. A state in RAM also carries the
window checkpoint taken where its last prompt ended (``Checkpoint``), so a sliding-window
model can regenerate the reply it holds after a switch back; the disk does not keep it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Checkpoint:
    """The window layers' cells (``LoadedModel.save_window``) when the KV cache held
    ``length`` tokens: going back to ``length`` or one before it, they are put back."""

    length: int
    data: bytearray


@dataclass(frozen=True)
class SavedState:
    """A conversation's KV cache contents and the tokens they correspond to."""

    tokens: tuple[int, ...]
    data: bytes | bytearray  # llama.cpp's sequence state (never changed once saved)
    pieces: tuple[bytes, ...] = ()  # each token's text, as in ``KVContext``
    checkpoint: Checkpoint | None = None  # the window checkpoint then (RAM only)

    @property
    def size(self) -> int:
        """Bytes this entry holds (roughly, for the tokens and pieces)."""
        window = len(self.checkpoint.data) if self.checkpoint else 0
        pieces = sum(len(p) + 40 for p in self.pieces)
        return len(self.data) + window + 8 * len(self.tokens) + pieces


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

    def peek(self, key: str) -> SavedState | None:
        """``key``'s state without making it the most recently used, or None."""
        return self._entries.get(key)

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


class DiskStates:
    """Saved states on disk, one file per conversation, at most ``max_bytes`` in all.

    Files live in a folder per model file (its path, size and modification time), so a
    state is only ever restored into the model that made it. Writes go to a temporary
    file renamed into place; an unreadable file is ignored (and removed). When over
    budget, the least recently used files go first.
    """

    MAGIC = b"CHATDESK-KV1\n"

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    @staticmethod
    def folder_for(root: Path, model_path: Path) -> Path:
        """The folder for one model file's states."""
        stat = model_path.stat()
        identity = f"{model_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        return root / hashlib.sha256(identity.encode()).hexdigest()[:24]

    def _path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.kvstate"

    def save(self, key: str, state: SavedState) -> None:
        """Write ``state`` for ``key`` (then drop old files over the budget)."""
        if state.size > self.max_bytes:
            return
        meta = json.dumps(
            {"tokens": list(state.tokens), "pieces": [p.hex() for p in state.pieces]}
        ).encode()
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._path(key)
        partial = target.with_suffix(f".partial-{os.getpid()}")
        try:
            with partial.open("wb") as out:
                out.write(self.MAGIC + len(meta).to_bytes(8, "little") + meta)
                out.write(state.data)
            os.replace(partial, target)
        except OSError:
            partial.unlink(missing_ok=True)  # a full disk loses a cache entry, nothing else
            return
        self._trim()

    def load(self, key: str) -> SavedState | None:
        """``key``'s state from disk, or None."""
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        state = self._parse(raw)
        if state is None:
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # most recently used
        return state

    def _parse(self, raw: bytes) -> SavedState | None:
        start = len(self.MAGIC) + 8
        if not raw.startswith(self.MAGIC) or len(raw) < start:
            return None
        meta_size = int.from_bytes(raw[len(self.MAGIC) : start], "little")
        try:
            meta = json.loads(raw[start : start + meta_size])
            tokens = tuple(int(token) for token in meta["tokens"])
            pieces = tuple(bytes.fromhex(piece) for piece in meta["pieces"])
        except (ValueError, KeyError, TypeError):
            return None
        data = raw[start + meta_size :]
        if not data or len(pieces) != len(tokens):
            return None
        return SavedState(tokens, data, pieces)

    def used_bytes(self) -> int:
        """Bytes the state files take now."""
        try:
            return sum(p.stat().st_size for p in self.folder.glob("*.kvstate"))
        except OSError:
            return 0

    def _trim(self) -> None:
        try:
            files = sorted(self.folder.glob("*.kvstate"), key=lambda p: p.stat().st_mtime)
            total = sum(p.stat().st_size for p in files)
        except OSError:
            return
        for path in files:
            if total <= self.max_bytes:
                break
            total -= path.stat().st_size
            path.unlink(missing_ok=True)
