"""How many CPU threads llama.cpp gets by default: the physical cores other work leaves free.

One thread per physical core is llama.cpp's own default (``cpu_get_num_math``: sibling lists
on Linux, performance cores on macOS, otherwise all logical CPUs up to 4 and half above);
SMT siblings count once, since more threads than cores makes llama.cpp's barriers wait.

But llama.cpp's threads meet at a barrier after every operation (about 1,100 per token for
the starter model), so one thread that the scheduler takes off its core stalls all of them.
Measured on the shared 2-core development machine (README, "Engine speed"): with other
processes busy, 2 threads decoded at 2-3 tok/s against 35-68 tok/s with 1 thread; on a quiet
machine 2 threads are much faster. So unless the user sets a count, ``ThreadGovernor``
re-chooses it about once a second from the CPU time *other* processes used meanwhile
(``/proc/stat`` minus this process's own time): every core they keep busy (beyond a little
slack) is one thread fewer. Elsewhere than Linux the count stays at the physical cores.

Qt-free and llama-free: the engine host and ``chatdesk bench`` both use it.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SYS_CPU = Path("/sys/devices/system/cpu")
PROC_STAT = Path("/proc/stat")
OTHERS_SLACK = 0.2  # cores of other work tolerated before giving up a thread
RETUNE_SECONDS = 1.0
FIRST_SAMPLE_SECONDS = 0.05


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


@dataclass(frozen=True)
class CpuSample:
    """Busy CPU time of the whole machine and of this process, at one moment (seconds)."""

    machine_busy: float
    own: float
    at: float


def cpu_sample() -> CpuSample | None:
    """The machine's busy time (all but idle and iowait) and ours; None where unknown."""
    try:
        fields = PROC_STAT.read_text().split("\n", 1)[0].split()
        ticks = [int(value) for value in fields[1:9]]
    except (OSError, ValueError):
        return None
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    own = os.times()
    return CpuSample(busy / os.sysconf("SC_CLK_TCK"), own.user + own.system, time.monotonic())


def others_busy_cores(before: CpuSample, after: CpuSample) -> float:
    """Cores other processes kept busy between two samples."""
    elapsed = after.at - before.at
    if elapsed <= 0:
        return 0.0
    others = (after.machine_busy - before.machine_busy) - (after.own - before.own)
    return max(0.0, others / elapsed)


def threads_for(others: float, cores: int) -> int:
    """Threads that leave the cores other processes use to them (at least 1)."""
    return max(1, min(cores, cores - math.ceil(others - OTHERS_SLACK)))


def threads_now(sample_seconds: float = 0.5) -> int:
    """The thread count the governor would choose now (measures for ``sample_seconds``)."""
    cores = physical_cores()
    before = cpu_sample()
    if before is None:
        return cores
    time.sleep(sample_seconds)
    after = cpu_sample()
    return threads_for(others_busy_cores(before, after), cores) if after else cores


_BASELINE = cpu_sample()  # when the host imported this, well before its first reply


class ThreadGovernor:
    """Re-chooses the thread count at most once per ``interval`` from others' CPU use.

    The first choice is due at once, measured since the process imported this module (a
    first reply right after the load must not run with threads the machine cannot give).
    """

    def __init__(self, cores: int, interval: float = RETUNE_SECONDS) -> None:
        self.cores = cores
        self.interval = interval
        baseline = _BASELINE
        fresh = baseline is None or time.monotonic() - baseline.at < FIRST_SAMPLE_SECONDS
        self._last = cpu_sample() if fresh else baseline
        self._decided = False

    def due(self) -> bool:
        """Whether a new choice may be made (cheap: a clock read)."""
        if self._last is None:
            return False
        wait = self.interval if self._decided else FIRST_SAMPLE_SECONDS
        return time.monotonic() - self._last.at >= wait

    def choose(self) -> int:
        """The thread count for the next stretch of work (resets the measuring interval)."""
        now = cpu_sample()
        before, self._last = self._last, now
        self._decided = True
        if before is None or now is None:
            return self.cores
        return threads_for(others_busy_cores(before, now), self.cores)
