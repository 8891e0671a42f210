"""macOS: the python tool's child locks itself in with the system sandbox (Seatbelt).

The child calls ``sandbox_init`` (libSystem, what ``sandbox-exec -p`` does) with a profile
written for this run, before the model's code runs; a sandbox cannot be lifted once applied.
The profile denies all network access, every write outside the run's own folder (and the
null and random devices), reading the home folders (the Python installation is read back
when it lives there), and starting any new process. Resource limits come on top, as on
Linux (``sandbox_child.apply_rlimits``). Standard library only: this runs in the child.
"""

from __future__ import annotations

import ctypes
import json
import os
from typing import Any

DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/dtracehelper")


def quoted(path: str) -> str:
    """A path as an SBPL string literal (JSON's escaping is a subset of it)."""
    return json.dumps(os.path.realpath(path))


def profile(workdir: str, homes: list[str], readable: list[str]) -> str:
    """The Seatbelt profile of one run; later rules win over earlier ones."""
    hidden = " ".join(f"(subpath {quoted(h)})" for h in homes if os.path.isdir(h))
    allowed = " ".join(f"(subpath {quoted(p)})" for p in readable)
    devices = " ".join(f"(literal {quoted(d)})" for d in DEVICES)
    rules = [
        "(version 1)",
        "(allow default)",
        "(deny network*)",
        "(deny process-fork)",
        "(deny process-exec)",
        "(deny file-write*)",
        f"(allow file-write* (subpath {quoted(workdir)}) {devices})",
    ]
    if hidden:
        rules.append(f"(deny file-read* {hidden})")
    if hidden and allowed:
        rules.append(f"(allow file-read* {allowed} (subpath {quoted(workdir)}))")
    return "\n".join(rules) + "\n"


def apply_seatbelt(workdir: str, homes: list[str], readable: list[str]) -> dict[str, Any]:
    """Apply the profile to this process; OSError when the system refuses it."""
    libsystem = ctypes.CDLL(None)
    init = libsystem.sandbox_init
    init.argtypes = [ctypes.c_char_p, ctypes.c_uint64, ctypes.POINTER(ctypes.c_char_p)]
    init.restype = ctypes.c_int
    error = ctypes.c_char_p()
    if init(profile(workdir, homes, readable).encode(), 0, ctypes.byref(error)) != 0:
        message = error.value.decode(errors="replace") if error.value else "refused"
        raise OSError(0, f"sandbox_init: {message}")
    return {
        "seatbelt": "no network, writes only its own folder, home folders hidden, no new processes"
    }
