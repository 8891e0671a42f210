"""Which process writes a streaming reply, and whether that process is still alive.

A reply being generated is saved as ``streaming`` several times a second with its writer's
process id (``writer_pid``). When ChatDesk starts (the window or any command), a streaming
reply whose writer is gone was cut off by a crash and becomes ``interrupted``; one whose
writer still runs (``chatdesk ask`` in a terminal while the window opens) is left alone.
Replies an open Store of this process is writing are listed in ``LIVE_REPLIES`` so that a
second Store in the same process never mistakes them for leftovers of a crash.
"""

from __future__ import annotations

import os
import sys
import threading

LIVE_REPLIES: dict[str, int] = {}  # reply id -> id() of the open Store writing it
_live_lock = threading.Lock()


def mark_live(message_id: str, live: bool, owner: object) -> None:
    """Record that a Store of this process starts (or stops) writing a streaming reply."""
    with _live_lock:
        if live:
            LIVE_REPLIES[message_id] = id(owner)
        else:
            LIVE_REPLIES.pop(message_id, None)


def forget_owner(owner: object) -> None:
    """A Store closed: the replies it was writing are no longer being written."""
    with _live_lock:
        for message_id in [m for m, o in LIVE_REPLIES.items() if o == id(owner)]:
            del LIVE_REPLIES[message_id]


def is_live_here(message_id: str) -> bool:
    """Whether an open Store of this very process is writing the reply now."""
    with _live_lock:
        return message_id in LIVE_REPLIES


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs now (another user's process counts as alive)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _windows_process_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return bool(code.value == 259)  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
