"""How fast a model will write on this machine: decode speed from memory bandwidth.

Generating one token reads every weight once, so decode speed is bounded by memory
bandwidth / model size. The bandwidth is measured once (copying a 128 MiB buffer with
numpy, best of a few rounds: about a quarter of a second) and cached in the data root's
``cache/`` folder, so later runs read a number. The estimate is that bound times an
efficiency factor (llama.cpp reaches roughly 60-80% of the copy bandwidth on CPUs).

A GPU holding the whole model is far faster than RAM; its bandwidth is not measured (that
would need a GPU library), so a conservative figure is used for it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chatdesk.hub.system import MachineMemory, memory_needed

MEASURE_BYTES = 128 * 1024**2  # larger than any CPU cache, small enough to be quick
MEASURE_ROUNDS = 4
DECODE_EFFICIENCY = 0.7
GPU_BANDWIDTH = 200e9  # bytes/s: a modest laptop GPU; only used when the model fits in VRAM
COMFORTABLE_TOKENS_PER_SECOND = 8.0  # faster than most people read
CACHE_FILE = "machine-speed.json"
SANE_BANDWIDTH = (1e8, 1e13)  # a cached figure outside this range is measured again


@dataclass(frozen=True)
class Bandwidth:
    """Memory bandwidth in bytes per second, and when it was measured."""

    bytes_per_second: float
    measured_at: str


def measure_bandwidth() -> float:
    """Bytes per second copied (read plus write) through RAM, best of a few rounds."""
    import numpy as np  # only here: importing numpy costs time the CLI need not pay

    source = np.ones(MEASURE_BYTES // 8, dtype=np.float64)
    target = np.empty_like(source)
    best = math.inf
    for _ in range(MEASURE_ROUNDS):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return 2 * MEASURE_BYTES / max(best, 1e-9)


def machine_bandwidth(cache_dir: Path) -> Bandwidth:
    """This machine's bandwidth: from the cache, else measured now and cached."""
    cached = read_cached(cache_dir / CACHE_FILE)
    if cached is not None:
        return cached
    measured = Bandwidth(measure_bandwidth(), datetime.now(UTC).isoformat(timespec="seconds"))
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        record = {"bytes_per_second": measured.bytes_per_second, "at": measured.measured_at}
        (cache_dir / CACHE_FILE).write_text(json.dumps(record), encoding="utf-8")
    except OSError:
        pass  # a read-only data root: measure again next time
    return measured


def read_cached(path: Path) -> Bandwidth | None:
    """The cached measurement, or None if missing, unreadable or implausible."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        value = float(record["bytes_per_second"])
        at = str(record["at"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    low, high = SANE_BANDWIDTH
    return Bandwidth(value, at) if low <= value <= high else None


def expected_tokens_per_second(
    file_size: int, bandwidth: float, memory: MachineMemory | None = None
) -> float:
    """Roughly how many tokens per second a model of ``file_size`` bytes writes here."""
    if memory is not None and memory.vram and memory_needed(file_size) <= memory.vram:
        bandwidth = max(bandwidth, GPU_BANDWIDTH)
    return DECODE_EFFICIENCY * bandwidth / max(file_size, 1)


def speed_text(tokens_per_second: float) -> str:
    """``about 12 tokens/s`` (two significant figures, at least 1 decimal below 10)."""
    if tokens_per_second < 10:
        return f"about {tokens_per_second:.1f} tokens/s"
    return f"about {round(tokens_per_second, -1 if tokens_per_second >= 100 else 0):.0f} tokens/s"
