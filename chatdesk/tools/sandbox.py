"""The ``python`` tool: model-written code in a separate, locked-in process.

The code runs in a fresh ``python -I -S`` process (no site-packages, no environment, no
user site) started on ``sandbox_child.py``, in a temporary folder of its own that is
deleted afterwards. The child locks itself in before running the code (namespaces,
Landlock, seccomp, resource limits; see ``sandbox_child``) and reports which of those took
hold; the result names them, so a user on a system without one of them knows.

Here, in the caller, the process gets a wall-clock limit (the whole process group is
killed when it runs over), and its output is read with a size cap (killed when it prints
more). A run that is stopped says why in one line: wall time, CPU time, memory, output,
or the processes limit. Nothing the code does can raise into the caller.

macOS locks the child in with Seatbelt (``sandbox_macos``), Windows with a Job Object
(``sandbox_windows``: no file or network isolation there yet, and the report says so). On
Windows the report comes as the first line of the child's stderr (no descriptor passing),
written before the model's code runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from chatdesk.tools.sandbox_child import REPORT_PREFIX

CHILD = Path(__file__).with_name("sandbox_child.py")
SANDBOX_SUBCOMMAND = "__python-sandbox"  # hidden command of the frozen ``chatdesk`` executable
WINDOWS = os.name == "nt"
QUOTA_EXCEEDED = 1816  # Windows: ERROR_NOT_ENOUGH_QUOTA, the Job Object's CPU-time kill


def child_command() -> list[str]:
    """How to start the child: Python on ``sandbox_child.py``, or the frozen app itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, SANDBOX_SUBCOMMAND]
    return [sys.executable, "-I", "-S", "-B", str(CHILD)]


@dataclass(frozen=True)
class SandboxLimits:
    """What one run may use."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 5
    memory_bytes: int = 512 * 1024 * 1024
    processes: int = 8
    file_bytes: int = 16 * 1024 * 1024
    open_files: int = 64
    output_bytes: int = 64 * 1024


@dataclass
class SandboxResult:
    """How a run ended; ``stopped`` is the one-line reason when a limit ended it."""

    exit_code: int | None
    stdout: str
    stderr: str
    stopped: str | None = None
    protections: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.stopped is None

    def as_text(self) -> str:
        """What the model reads: output, errors, and why it stopped."""
        parts = [self.stdout.rstrip("\n")] if self.stdout.strip() else []
        if self.stderr.strip():
            parts.append("stderr:\n" + self.stderr.rstrip("\n"))
        if self.stopped:
            parts.append(f"[stopped: {self.stopped}]")
        elif self.exit_code:
            parts.append(f"[exit code {self.exit_code}]")
        return "\n".join(parts) or "[no output]"


class _CappedReader(threading.Thread):
    """Reads a pipe to the end, keeping at most ``cap`` bytes; notes when it overflowed."""

    def __init__(self, stream: IO[bytes], cap: int, on_overflow: Any) -> None:
        super().__init__(daemon=True)
        self.stream, self.cap, self.on_overflow = stream, cap, on_overflow
        self.data = bytearray()
        self.overflowed = False

    def run(self) -> None:
        while chunk := self.stream.read1(65536) if hasattr(self.stream, "read1") else b"":
            room = self.cap - len(self.data)
            self.data += chunk[: max(room, 0)]
            if len(chunk) > room and not self.overflowed:
                self.overflowed = True
                self.on_overflow()

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def run_python(code: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``code``; never raises for anything the code does."""
    limits = limits or SandboxLimits()
    workdir = tempfile.mkdtemp(prefix="chatdesk-python-")
    try:
        return _run_in(Path(workdir), code, limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _config(workdir: Path, code: str, limits: SandboxLimits, report_fd: int) -> bytes:
    keys = ("cpu_seconds", "memory_bytes", "processes", "file_bytes", "open_files")
    numbers = {key: getattr(limits, key) for key in keys}
    config = {
        "code": code,
        "workdir": str(workdir),
        "limits": numbers,
        "report_fd": report_fd,
        "homes": [str(Path.home().resolve())],
    }
    return json.dumps(config).encode()


def _run_in(workdir: Path, code: str, limits: SandboxLimits) -> SandboxResult:
    if WINDOWS:
        process = _start(workdir, None)
        with process:
            return _supervise(process, _config(workdir, code, limits, -1), None, limits)
    report_read, report_write = os.pipe()
    try:
        process = _start(workdir, report_write)
    finally:
        os.close(report_write)
    config = _config(workdir, code, limits, report_write)
    with process:  # closes the pipes at the end
        return _supervise(process, config, report_read, limits)


def _supervise(
    process: subprocess.Popen[bytes], config: bytes, report_read: int | None, limits: SandboxLimits
) -> SandboxResult:
    stopped: list[str] = []
    kill = _killer(process, stopped)
    with _running_lock:
        _running[process.pid] = kill
    try:
        return _watch(process, config, report_read, limits=limits, stopped=stopped, kill=kill)
    finally:
        with _running_lock:
            _running.pop(process.pid, None)


def _watch(
    process: subprocess.Popen[bytes],
    config: bytes,
    report_read: int | None,
    *,
    limits: SandboxLimits,
    stopped: list[str],
    kill: Any,
) -> SandboxResult:
    out = _CappedReader(_pipe(process.stdout), limits.output_bytes, lambda: kill("output"))
    err = _CappedReader(_pipe(process.stderr), limits.output_bytes, lambda: kill("output"))
    out.start()
    err.start()
    _feed(process, config)
    protections: dict[str, Any] = {}
    if report_read is not None:
        with os.fdopen(report_read, "rb") as channel:
            protections = _read_report(channel)
    _wait(process, limits.wall_seconds, kill)
    out.join()
    err.join()
    stderr = err.text()
    if report_read is None:
        protections, stderr = _report_line(stderr)
    reason = _reason(process.returncode, stopped, stderr, limits)
    return SandboxResult(process.returncode, out.text(), stderr, reason, protections)


def _report_line(stderr: str) -> tuple[dict[str, Any], str]:
    """(the report, the rest of stderr) when stderr starts with the child's report line."""
    if not stderr.startswith(REPORT_PREFIX):
        return {}, stderr
    line, _, rest = stderr.partition("\n")
    return _read_report(io.BytesIO(line.removeprefix(REPORT_PREFIX).encode())), rest


_running: dict[int, Any] = {}  # pid -> its killer, for every run in progress
_running_lock = threading.Lock()


def stop_all() -> int:
    """Kill every run in progress (the user pressed Stop); how many there were."""
    with _running_lock:
        killers = list(_running.values())
    for kill in killers:
        kill("user")
    return len(killers)


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    assert stream is not None
    return stream


def _start(workdir: Path, report_fd: int | None) -> subprocess.Popen[bytes]:
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    if WINDOWS:  # SYSTEMROOT: Windows Python cannot start without it
        env = {"SYSTEMROOT": os.environ.get("SYSTEMROOT", r"C:\Windows"), "TEMP": str(workdir)}
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW  # type: ignore[attr-defined]
        return subprocess.Popen(
            child_command(),
            cwd=workdir,
            env=env,
            creationflags=flags,
            **pipes,  # type: ignore[call-overload]
        )
    return subprocess.Popen(
        child_command(),
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(workdir)},
        pass_fds=(report_fd,) if report_fd is not None else (),
        start_new_session=True,  # one process group, killed as a whole
        **pipes,  # type: ignore[call-overload]
    )


def _feed(process: subprocess.Popen[bytes], config: bytes) -> None:
    stdin = process.stdin
    assert stdin is not None
    try:
        stdin.write(config)
        stdin.close()
    except OSError:
        pass  # the child died at once; its exit code tells


def _read_report(channel: IO[bytes]) -> dict[str, Any]:
    raw = channel.read(65536)
    try:
        report = json.loads(raw) if raw else {}
    except ValueError:
        report = {}
    return report if isinstance(report, dict) else {}


def _killer(process: subprocess.Popen[bytes], stopped: list[str]) -> Any:
    def kill(reason: str) -> None:
        if not stopped:
            stopped.append(reason)
        _reap_group(process)

    return kill


def _wait(process: subprocess.Popen[bytes], seconds: float, kill: Any) -> None:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        kill("wall")
        process.wait()
    _reap_group(process)


def _reap_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the process group (the code and anything it left running); on Windows the
    process (its Job Object allows no other, and dies with it)."""
    if WINDOWS:
        with contextlib.suppress(OSError):
            process.kill()
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _reason(code: int | None, stopped: list[str], stderr: str, limits: SandboxLimits) -> str | None:
    if stopped and stopped[0] == "user":
        return "stopped by the user"
    if stopped and stopped[0] == "wall":
        return f"ran longer than {limits.wall_seconds:g} s (wall-time limit)"
    if stopped and stopped[0] == "output":
        return f"printed more than {limits.output_bytes:,} bytes (output limit)"
    if _cpu_limit_hit(code, stopped):
        return f"used more than {limits.cpu_seconds} s of CPU time (CPU limit)"
    if "MemoryError" in stderr:
        return f"tried to use more than {limits.memory_bytes // 2**20} MiB (memory limit)"
    if _started_a_process(stderr):
        return "tried to start a new process (the python tool allows threads, not processes)"
    if code == -getattr(signal, "SIGXFSZ", 0) and code:
        return f"wrote a file over {limits.file_bytes // 2**20} MiB (file-size limit)"
    return None


def _cpu_limit_hit(code: int | None, stopped: list[str]) -> bool:
    if WINDOWS:
        return code == QUOTA_EXCEEDED
    return code == -signal.SIGXCPU or (code == -signal.SIGKILL and not stopped)


def _started_a_process(stderr: str) -> bool:
    last = stderr.strip().splitlines()[-1:] or [""]
    refused = last[0].startswith(("PermissionError", "BlockingIOError", "OSError: [WinError 1816]"))
    return refused and any(word in stderr for word in ("fork", "spawn", "subprocess", "Popen"))
