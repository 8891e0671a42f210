"""Memory figures for sizing the context: what is free, what a context would need.

The trained context length in a GGUF is untrusted (a file may claim billions of tokens),
so the default context is the trained length capped at 8192 and by what the KV cache may
take of the memory that is actually available.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from dataclasses import dataclass

DEFAULT_CONTEXT_CAP = 8192
MIN_CONTEXT = 256
CONTEXT_STEP = 256
KV_SHARE_OF_AVAILABLE = 0.5  # the KV cache may use at most this share of available memory
KV_BYTES_PER_VALUE = 2  # f16 K and V


class ContextTooLarge(Exception):
    """The requested context needs more memory than is available."""


@dataclass(frozen=True)
class KVShape:
    """What determines a model's KV-cache size per token."""

    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int

    @property
    def bytes_per_token(self) -> int:
        """K and V for one token over all layers (grouped-query heads accounted for)."""
        head_dim = self.n_embd // max(self.n_head, 1)
        n_embd_kv = head_dim * max(self.n_head_kv, 1)
        return 2 * self.n_layer * n_embd_kv * KV_BYTES_PER_VALUE


def available_memory() -> int:
    """Bytes of memory available to new allocations (Linux MemAvailable, else total RAM)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return total_memory()


def total_memory() -> int:
    """Physical memory in bytes (8 GiB when the platform will not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 8 * 1024**3


def resident_memory() -> int:
    """This process's resident set size in bytes (0 where unknown)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    if sys.platform == "darwin":
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS (peak)
    return 0


def release_free_heap() -> None:
    """Hand freed heap pages back to the OS (glibc keeps them otherwise)."""
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc_name).malloc_trim(0)


def choose_context(requested: int | None, trained: int, shape: KVShape, available: int) -> int:
    """The context length to allocate.

    Default: the trained length (when sane) capped at 8192; always capped by memory. An
    explicit request larger than memory allows raises ``ContextTooLarge``.
    """
    per_token = max(shape.bytes_per_token, 1)
    memory_cap = int(available * KV_SHARE_OF_AVAILABLE) // per_token
    if requested is not None:
        if requested < 1:
            raise ValueError(f"context length must be positive, not {requested}")
        if requested > memory_cap:
            need = requested * per_token / 1024**3
            have = available / 1024**3
            raise ContextTooLarge(
                f"a context of {requested} tokens needs {need:.1f} GiB for its KV cache; "
                f"only {have:.1f} GiB of memory is available"
            )
        return requested
    base = trained if trained > 0 else DEFAULT_CONTEXT_CAP
    chosen = min(base, DEFAULT_CONTEXT_CAP, memory_cap)
    if chosen >= CONTEXT_STEP:
        chosen -= chosen % CONTEXT_STEP
    if chosen < MIN_CONTEXT and memory_cap < MIN_CONTEXT:
        raise ContextTooLarge(
            f"not enough free memory for even a {MIN_CONTEXT}-token context "
            f"({available / 1024**2:.0f} MiB available)"
        )
    return max(chosen, min(MIN_CONTEXT, base))
