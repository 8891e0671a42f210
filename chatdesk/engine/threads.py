"""How many CPU threads llama.cpp gets by default: one per physical core we may run on.

Measured on the 2-core development machine (2 physical cores, no SMT; README, "Engine
speed"): 2 threads against 1 gave about 1.6x the decode speed and 1.9x the prompt speed on
the starter model, so "half the logical CPUs" (the old default: 1 thread there) left much of
the machine unused. More threads than physical cores makes llama.cpp's barriers wait on
sibling hyper-threads, so SMT siblings count once. Same rule as llama.cpp's own tools
(``cpu_get_num_math``): sibling lists on Linux, performance cores on macOS, otherwise all
logical CPUs up to 4 and half of them above.

Qt-free and llama-free: the engine host and ``chatdesk bench`` both use it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SYS_CPU = Path("/sys/devices/system/cpu")


def usable_cpus() -> list[int]:
    """The logical CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def linux_physical_cores(cpus: list[int], root: Path = SYS_CPU) -> int | None:
    """Distinct cores among ``cpus`` (SMT siblings counted once); None if sysfs is silent."""
    cores: set[str] = set()
    for cpu in cpus:
        siblings = root / f"cpu{cpu}" / "topology" / "thread_siblings_list"
        try:
            cores.add(siblings.read_text().strip())
        except OSError:
            return None
    return len(cores) or None


def macos_performance_cores() -> int | None:
    """Performance cores on macOS (Apple silicon), else physical cores; None if unknown."""
    for key in ("hw.perflevel0.physicalcpu", "hw.physicalcpu"):
        try:
            done = subprocess.run(
                ["sysctl", "-n", key], capture_output=True, text=True, timeout=5, check=False
            )
            return int(done.stdout.strip())
        except (OSError, ValueError, subprocess.SubprocessError):
            continue
    return None


def physical_cores() -> int:
    """Physical cores available to this process (at least 1)."""
    cpus = usable_cpus()
    found = None
    if sys.platform.startswith("linux"):
        found = linux_physical_cores(cpus)
    elif sys.platform == "darwin":
        found = macos_performance_cores()
    if found is None:
        found = len(cpus) if len(cpus) <= 4 else len(cpus) // 2
    return max(1, min(found, len(cpus)))


def default_threads() -> tuple[int, int]:
    """Threads for generation and for prompt evaluation: both one per physical core."""
    cores = physical_cores()
    return cores, cores
