"""Windows: the python tool's child puts itself in a Job Object with limits.

The job allows one process (the code cannot start another), caps its memory and CPU time,
kills it with the job, dies on an unhandled exception instead of showing a dialog, and takes
away the desktop, clipboard and global handles (UI restrictions). What a Job Object cannot
do is isolate files and network: that needs an AppContainer or a restricted token for the
process, which ChatDesk does not create yet, so the report says ``filesystem`` and
``network`` are not available: the code can read and write what the user's account can and
open network connections. Standard library only: this runs in the child.
"""

from __future__ import annotations

import ctypes
from ctypes import wintypes
from typing import Any

EXTENDED_LIMITS, UI_RESTRICTIONS = 9, 4
LIMIT_PROCESS_TIME, LIMIT_ACTIVE_PROCESS, LIMIT_PROCESS_MEMORY = 0x2, 0x8, 0x100
LIMIT_DIE_ON_UNHANDLED_EXCEPTION, LIMIT_KILL_ON_JOB_CLOSE = 0x400, 0x2000
UI_LIMIT_ALL = 0xFF  # handles, read/write clipboard, system parameters, display, global atoms,
# desktop, exit windows
MISSING = (
    "not available: Windows isolates files and network only for an AppContainer or a "
    "restricted token, which the python tool does not use yet"
)


class BasicLimits(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", wintypes.DWORD),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", wintypes.DWORD),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", wintypes.DWORD),
        ("SchedulingClass", wintypes.DWORD),
    ]


class ExtendedLimits(ctypes.Structure):
    _fields_ = [
        ("BasicLimitInformation", BasicLimits),
        ("IoInfo", ctypes.c_ulonglong * 6),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


_job: list[int] = []  # the job's handle, kept open for the life of the process


def limits(config: dict[str, int]) -> ExtendedLimits:
    """The job's limits from the run's settings."""
    info = ExtendedLimits()
    basic = info.BasicLimitInformation
    basic.LimitFlags = (
        LIMIT_PROCESS_TIME | LIMIT_ACTIVE_PROCESS | LIMIT_PROCESS_MEMORY
        | LIMIT_DIE_ON_UNHANDLED_EXCEPTION | LIMIT_KILL_ON_JOB_CLOSE
    )  # fmt: skip
    basic.PerProcessUserTimeLimit = int(config["cpu_seconds"]) * 10_000_000  # 100 ns units
    basic.ActiveProcessLimit = 1
    info.ProcessMemoryLimit = int(config["memory_bytes"])
    return info


def apply_job_object(config: dict[str, int]) -> dict[str, Any]:
    """Create the job, set its limits, put this process in it; the report's entries."""
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    job = kernel32.CreateJobObjectW(None, None)
    info = limits(config)
    ui = wintypes.DWORD(UI_LIMIT_ALL)
    if not (
        job
        and kernel32.SetInformationJobObject(
            wintypes.HANDLE(job), EXTENDED_LIMITS, ctypes.byref(info), ctypes.sizeof(info)
        )
        and kernel32.SetInformationJobObject(
            wintypes.HANDLE(job), UI_RESTRICTIONS, ctypes.byref(ui), ctypes.sizeof(ui)
        )
        and kernel32.AssignProcessToJobObject(
            wintypes.HANDLE(job), wintypes.HANDLE(kernel32.GetCurrentProcess())
        )
    ):
        raise OSError(ctypes.get_last_error(), "Job Object refused")  # type: ignore[attr-defined]
    _job.append(job)
    return {
        "job_object": f"one process, {config['memory_bytes'] // 2**20} MiB, "
        f"{config['cpu_seconds']} s CPU, no desktop or clipboard access",
        "filesystem": MISSING,
        "network": MISSING,
    }
