"""How much memory this machine has, and whether a model of a given size fits in it.

RAM comes from ``/proc/meminfo`` (Linux), ``sysctl``/``vm_stat`` (macOS) or
``GlobalMemoryStatusEx`` (Windows); dedicated GPU memory from ``nvidia-smi`` when present.
No extra dependency (psutil) is needed for these few numbers.
"""

from __future__ import annotations

import ctypes
import enum
import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

GIB = 1024**3
RUNTIME_OVERHEAD_BYTES = 512 * 1024**2  # llama.cpp buffers plus a 4k-token KV cache, roughly
_KV_FRACTION = 0.10  # the KV cache and scratch buffers grow with model size


@dataclass(frozen=True)
class MachineMemory:
    """Bytes of RAM (total and available now) and of dedicated GPU memory (0 if none)."""

    total_ram: int
    available_ram: int
    vram: int = 0

    @property
    def capacity(self) -> int:
        """All memory a model could be spread over (RAM plus GPU memory)."""
        return self.total_ram + self.vram


class Fit(enum.StrEnum):
    """How well a model fits this machine."""

    FITS = "fits"
    TIGHT = "tight"
    WONT_FIT = "won't fit"


def memory_needed(file_size: int) -> int:
    """Estimated bytes to run a model whose GGUF weights take ``file_size`` bytes."""
    return int(file_size * (1 + _KV_FRACTION)) + RUNTIME_OVERHEAD_BYTES


def estimate_fit(file_size: int, memory: MachineMemory) -> Fit:
    """FITS: fits in memory available now and leaves 40% of the machine to everything else;
    TIGHT: only if other programs make room;
    WONT_FIT: more than the machine has (minus 1 GiB for the system)."""
    need = memory_needed(file_size)
    comfortable = min(memory.available_ram + memory.vram, int(memory.capacity * 0.6))
    if need <= comfortable:
        return Fit.FITS
    if need <= memory.capacity - GIB:
        return Fit.TIGHT
    return Fit.WONT_FIT


@functools.cache
def machine_memory() -> MachineMemory:
    """This machine's memory, measured once per process (GPU detection costs a subprocess)."""
    total, available = _ram()
    return MachineMemory(total_ram=total, available_ram=available, vram=_nvidia_vram())


def _ram() -> tuple[int, int]:
    """Total and available RAM in bytes for the current platform."""
    if sys.platform.startswith("linux"):
        return _linux_ram(Path("/proc/meminfo"))
    if sys.platform == "darwin":
        return _macos_ram()
    if sys.platform == "win32":
        return _windows_ram()
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return pages, pages // 2


def _linux_ram(meminfo: Path) -> tuple[int, int]:
    """Parse MemTotal and MemAvailable (kB) from a meminfo file."""
    values: dict[str, int] = {}
    for line in meminfo.read_text(encoding="ascii").splitlines():
        match = re.match(r"^(\w+):\s+(\d+)\s*kB", line)
        if match:
            values[match[1]] = int(match[2]) * 1024
    total = values["MemTotal"]
    return total, values.get("MemAvailable", values.get("MemFree", total // 2))


def _macos_ram() -> tuple[int, int]:
    """``sysctl hw.memsize`` for the total; free plus inactive pages from ``vm_stat``."""
    total = int(_command_output(["sysctl", "-n", "hw.memsize"]) or 0)
    stats = _command_output(["vm_stat"]) or ""
    page = re.search(r"page size of (\d+) bytes", stats)
    page_size = int(page[1]) if page else 4096
    pages = sum(
        int(match[1])
        for key in ("Pages free", "Pages inactive", "Pages speculative")
        if (match := re.search(rf"{key}:\s+(\d+)", stats))
    )
    return total, pages * page_size if pages else total // 2


def _windows_ram() -> tuple[int, int]:
    """``GlobalMemoryStatusEx`` through ctypes."""

    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status))  # type: ignore[attr-defined]
    return int(status.ullTotalPhys), int(status.ullAvailPhys)


def _nvidia_vram() -> int:
    """Total memory of the largest NVIDIA GPU in bytes, 0 when there is none."""
    if shutil.which("nvidia-smi") is None:
        return 0
    output = _command_output(
        ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
    )
    sizes = [int(line) for line in (output or "").split() if line.isdigit()]
    return max(sizes, default=0) * 1024**2


def _command_output(command: list[str]) -> str | None:
    """Stdout of a short local command, or None if it fails or takes over 3 seconds."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None
