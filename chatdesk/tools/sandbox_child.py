"""The first code the sandboxed ``python`` tool process runs (stdlib only, no chatdesk).

``sandbox.run_python`` starts ``python -I -S`` on this file (the frozen app starts itself
with ``__python-sandbox``, which its launcher sends here before importing anything else: no
thread may exist before ``unshare``). It reads its settings as JSON
from stdin, locks itself in, reports on an inherited pipe which limits took hold (a JSON
object), closes that descriptor, and only then runs the model's code. Each step is tried
and skipped when the system refuses it, so the report is the truth about this run:

1. namespaces (Linux): a new user, network and mount namespace. The network namespace has
   no interface up, so no socket reaches anything, 127.0.0.1 included. In the mount
   namespace a tmpfs is mounted over the home folders (``/home``, ``/root``, ``$HOME``), so
   ``~/.ssh`` and the like are not there; the Python installation is bound back read-only
   when it lives under one of them. The folders where desktop sockets live are hidden the
   same way (``/tmp`` with ``/tmp/.X11-unix`` and ssh-agent folders, ``/var/tmp``, ``/run``
   with ``$XDG_RUNTIME_DIR`` and the D-Bus sockets, ``/dev/shm``, and the folder of any socket
   the caller's environment names). The run's own folder is then a fresh tmpfs of the disk
   quota's size (``disk_bytes``, ``disk_files`` inodes): writing more fails with ENOSPC.
2. Landlock (Linux 5.13+): the process may read only the system and Python folders, write
   only its own temporary folder, connect and bind no TCP port, and (ABI 6+) not signal or
   reach abstract sockets outside itself.
3. seccomp (Linux x86-64): new processes (fork, vfork, clone without CLONE_THREAD), socket()
   of every family and connect(), so no socket outside the process can be reached, UNIX
   path sockets included (Landlock cannot scope those on kernels up to ABI 7; a
   socketpair() of stream sockets stays allowed for asyncio's wake-up pipe), ptrace, mount,
   unshare, setns, bpf, keyctl, io_uring and kernel-module calls fail with EPERM (threads
   stay allowed). This is also the process limit that holds for root, whom RLIMIT_NPROC
   does not bind.
4. resource limits: CPU seconds, address space, processes, file size, open files, no core.

Last, only the standard library stays importable (``standard_library_only``): from source
``-I -S`` does that; in the frozen app every package sits in one archive, which is cut down to
the standard library, and Landlock lets the child read only the bundle's standard-library
files, so the third-party extension modules cannot be loaded either.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import struct
import sys
from collections.abc import Callable
from typing import Any

REPORT_PREFIX = "\x00chatdesk-sandbox-report "  # Windows: the report is stderr's first line

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1,
    2,
    4,
    32,
    4096,
    16384,
    1 << 18,
)
if os.name == "posix":
    import resource

    LIBC = ctypes.CDLL(None, use_errno=True)
    LIBC.syscall.restype = ctypes.c_long
    LIBC.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]


def _check(result: int, what: str) -> None:
    if result < 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    enc = [None if v is None else v.encode() for v in (source, target, fstype, data)]
    _check(LIBC.mount(enc[0], enc[1], enc[2], flags, enc[3]), f"mount {target}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


BUNDLE_STDLIB = ("base_library.zip", "lib-dynload")  # beside the frozen bundle's archive
SOCKET_FOLDERS = ("/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm")


def enter_namespaces(keep_paths: list[str], config: dict[str, Any]) -> dict[str, Any]:
    uid, gid = os.getuid(), os.getgid()
    os.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    extra = [*config.get("homes", []), *config.get("socket_folders", [])]
    wanted = {"/home", "/root", *SOCKET_FOLDERS, *extra} - {"", "/"}
    hidden: list[str] = []
    for folder in sorted(os.path.realpath(f) for f in wanted):
        if _hideable(folder, hidden, keep_paths):
            _hide_folder(folder, [p for p in keep_paths if p.startswith(folder + "/")])
            hidden.append(folder)
    quota = _own_folder_quota(config)
    return {"namespaces": "user, network (no interfaces), mount", "hidden": hidden, **quota}


def _hideable(folder: str, hidden: list[str], keep: list[str]) -> bool:
    """A folder not yet under a hidden one that holds none of the system (kept) paths whole."""
    if not os.path.isdir(folder) or any(folder.startswith(h + "/") for h in [*hidden, "/proc"]):
        return False
    return folder not in hidden and not any(k == folder or folder.startswith(k + "/") for k in keep)


def _hide_folder(folder: str, keep: list[str]) -> None:
    """A tmpfs over ``folder``; each ``keep`` path bound back read-only."""
    handles = {path: os.open(path, os.O_PATH) for path in keep if os.path.exists(path)}
    _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for path, handle in handles.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        os.close(handle)


def _own_folder_quota(config: dict[str, Any]) -> dict[str, Any]:
    """The run's folder becomes a tmpfs of the quota's size: the total disk quota."""
    work, limits = config["workdir"], config["limits"]
    size, files = int(limits.get("disk_bytes", 64 << 20)), int(limits.get("disk_files", 4096))
    os.makedirs(work, exist_ok=True)
    data = f"size={size},nr_inodes={files},mode=700"
    _mount("tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV, data)
    os.chdir(work)
    return {"disk_quota": f"{size // 2**20} MiB, {files} files (tmpfs)"}


# Landlock
LL_READ = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read file, read dir
LL_FS_ALL = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
LL_NET = 3  # bind and connect TCP


def _landlock_fs(abi: int) -> int:
    return LL_FS_ALL.get(abi, (1 << 16) - 1)  # ABI 5+: ioctl_dev too


def apply_landlock(read_paths: list[str], write_paths: list[str]) -> dict[str, Any]:
    abi = LIBC.syscall(444, None, 0, 1)
    if abi < 1:
        raise OSError(ctypes.get_errno(), "Landlock is not available")
    fs_all = _landlock_fs(abi)
    net = LL_NET if abi >= 4 else 0
    scoped = 3 if abi >= 6 else 0
    attr = struct.pack("QQQ", fs_all, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = LIBC.syscall(444, ctypes.c_char_p(attr[:size]), size, 0)
    _check(ruleset, "landlock_create_ruleset")
    for path, access in [(p, LL_READ) for p in read_paths] + [(p, fs_all) for p in write_paths]:
        _allow(ruleset, path, access)
    _check(LIBC.prctl(38, 1, 0, 0, 0), "no_new_privs")
    _check(LIBC.syscall(446, ruleset, 0), "landlock_restrict_self")
    return {
        "landlock": f"ABI {abi}: read system and Python folders, write own folder"
        + (", no TCP" if net else "")
        + (", scoped signals/sockets" if scoped else "")
    }


def _allow(ruleset: int, path: str, access: int) -> None:
    if not os.path.exists(path):
        return
    handle = os.open(path, os.O_PATH | os.O_CLOEXEC)
    if not os.path.isdir(path):
        access &= (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15)  # file rights only
    rule = struct.pack("=Qi", access, handle)
    _check(LIBC.syscall(445, ruleset, 1, ctypes.c_char_p(rule), 0), f"landlock rule {path}")
    os.close(handle)


# seccomp (x86-64 only): deny dangerous calls with EPERM, every socket() and connect().
X86_64 = 0xC000003E
DENIED_X86_64 = (
    101,
    165,
    166,
    272,
    308,
    321,
    250,
    248,
    249,
    175,
    176,
    313,
    155,
    163,  # ptrace ... acct
    298,
    310,
    311,
    246,
    320,
    169,
    167,
    425,
    426,
    427,  # perf, process_vm, kexec, io_uring
    57,
    58,  # fork, vfork: the code may start threads, not processes
    41,
    42,  # socket, connect: nothing outside the process, UNIX path sockets included
)
CLONE_X86_64, CLONE3_X86_64, CLONE_THREAD = 56, 435, 0x10000
SOCKETPAIR_X86_64, SOCK_STREAM = 53, 1


def _bpf(code: int, k: int = 0, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def apply_seccomp() -> dict[str, Any]:
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        raise OSError(0, "seccomp filter written for x86-64 only")
    eperm, allow, kill = 0x00050000 | 1, 0x7FFF0000, 0x80000000
    prog = [_bpf(0x20, 4), _bpf(0x15, X86_64, 1, 0), _bpf(0x06, kill), _bpf(0x20, 0)]
    prog += [_bpf(0x35, 0x40000000, 0, 1), _bpf(0x06, eperm)]  # x32 calls
    prog += [_bpf(0x15, CLONE3_X86_64, 0, 1), _bpf(0x06, 0x00050000 | 38)]  # ENOSYS: use clone
    prog += [_bpf(0x15, CLONE_X86_64, 0, 4), _bpf(0x20, 16), _bpf(0x45, CLONE_THREAD, 0, 1)]
    prog += [_bpf(0x06, allow), _bpf(0x06, eperm)]
    for number in DENIED_X86_64:
        prog += [_bpf(0x15, number, 0, 1), _bpf(0x06, eperm)]
    # socketpair(): stream sockets only (a datagram one could sendto() a path socket)
    prog += [_bpf(0x15, SOCKETPAIR_X86_64, 0, 4), _bpf(0x20, 24), _bpf(0x54, 0xF)]
    prog += [_bpf(0x15, SOCK_STREAM, 1, 0), _bpf(0x06, eperm), _bpf(0x06, allow)]
    code = b"".join(prog)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HxxxxxxQ", len(prog), ctypes.addressof(buffer))
    _check(LIBC.prctl(38, 1, 0, 0, 0), "no_new_privs")
    _check(LIBC.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0), "seccomp")
    return {
        "seccomp": "threads but no new processes; no socket() or connect() (UNIX sockets "
        "included); no ptrace, mount, unshare, setns, bpf, keyctl, io_uring"
    }


def apply_rlimits(limits: dict[str, int]) -> dict[str, Any]:
    applied: dict[str, int | str] = {}
    table = {
        "cpu_seconds": resource.RLIMIT_CPU,
        "memory_bytes": resource.RLIMIT_AS,
        "processes": resource.RLIMIT_NPROC,
        "file_bytes": resource.RLIMIT_FSIZE,
        "open_files": resource.RLIMIT_NOFILE,
    }
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in table.items():
        value = int(limits[key])
        try:
            resource.setrlimit(which, (value, value))
            applied[key] = value
        except (ValueError, OSError) as error:
            applied[key] = f"not applied: {error}"
    return {"rlimits": applied}


def lock_in(config: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    applied = report_steps(config)
    for name, step in applied:
        try:
            report.update(step())
        except Exception as error:  # each protection is optional; the report says so
            report[name] = f"not available: {error}"
    return report


def python_paths() -> tuple[list[str], list[str]]:
    """(what the child may read of Python, folders to keep visible under a hidden home).

    From source: the interpreter's folders. Frozen: only the standard library's parts of the
    bundle (the executable, which holds the archive of pure-Python modules, the base library,
    ``lib-dynload`` and the libraries next to them), not the third-party packages' folders."""
    app = os.path.dirname(os.path.realpath(sys.executable))
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass is None:
        base = [sys.base_prefix, sys.prefix, app]
        return base, [os.path.realpath(p) for p in base]
    top = [os.path.join(meipass, n) for n in os.listdir(meipass)]
    read = [os.path.realpath(sys.executable), *bundle_stdlib(meipass)]
    return [*read, *[p for p in top if os.path.isfile(p)]], [app, os.path.realpath(meipass)]


def bundle_stdlib(meipass: str) -> list[str]:
    """The frozen bundle's ``sys.path`` entries that hold only the standard library (not,
    say, the ``setuptools/_vendor`` entry a PyInstaller runtime hook adds)."""
    return [p for p in sys.path if p in (os.path.join(meipass, n) for n in BUNDLE_STDLIB)]


def report_steps(config: dict[str, Any]) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    python, keep = python_paths()
    system = [
        "/usr",
        "/lib",
        "/lib64",
        "/lib32",
        "/bin",
        "/etc/localtime",
        "/dev/null",
        "/dev/urandom",
        "/dev/zero",
        *python,
    ]
    work = config["workdir"]
    steps = [
        ("namespaces", lambda: enter_namespaces(keep, config)),
        ("landlock", lambda: apply_landlock(system, [work, "/dev/null"])),
        ("seccomp", apply_seccomp),
        ("rlimits", lambda: apply_rlimits(config["limits"])),
    ]
    return [s for s in steps if s[0] != "namespaces" or config.get("namespaces", True)]


def standard_library_only() -> None:
    """Make only the standard library importable by the model's code.

    Run from source, ``-I -S`` already leaves site-packages out; this also drops this file's
    folder from ``sys.path``. Frozen, every bundled package's Python code sits in one
    archive, whose finder serves the bundle's folder: that folder stays on ``sys.path`` (the
    standard library's pure-Python modules, ``fractions`` or ``statistics``, are only there),
    the archive's table of contents is cut down to the standard library, and Landlock keeps
    the third-party packages' folders unreadable."""
    here = os.path.dirname(os.path.abspath(__file__))
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass is None:
        sys.path[:] = [p for p in sys.path if p not in (here, "")]
    else:
        sys.path[:] = [*bundle_stdlib(meipass), meipass]
    cut_archives_to_stdlib()
    sys.path_importer_cache.clear()
    for name in [n for n in sys.modules if n.partition(".")[0] == "chatdesk"]:
        del sys.modules[name]


def cut_archives_to_stdlib() -> None:
    """Leave only standard-library modules in the frozen archive's table of contents (the
    one archive PyInstaller's finders share; nothing to do from source)."""
    finders = [*sys.path_importer_cache.values(), sys.modules.get("pyimod02_importers")]
    for archive in {id(a): a for f in finders if (a := _archive_of(f)) is not None}.values():
        toc = archive.toc
        for name in [n for n in toc if n.partition(".")[0] not in sys.stdlib_module_names]:
            del toc[name]


def _archive_of(owner: object) -> Any:
    archive = getattr(owner, "_pyz_archive", None) or getattr(owner, "pyz_archive", None)
    return archive if isinstance(getattr(archive, "toc", None), dict) else None


def platform_module(name: str) -> Any:
    """A sibling module: ``chatdesk.tools.<name>`` when imported (frozen app), else ``<name>``
    (started as a file from source, its folder is ``sys.path[0]``)."""
    return importlib.import_module(f"{__package__}.{name}" if __package__ else name)


def lock_in_here(config: dict[str, Any]) -> dict[str, Any]:
    """Every protection this OS has; each one that fails is reported, not fatal."""
    if sys.platform.startswith("linux"):
        return lock_in(config)
    report: dict[str, Any] = {}
    if sys.platform == "darwin":
        steps = [("seatbelt", lambda: macos_seatbelt(config))]
        steps.append(("rlimits", lambda: apply_rlimits(config["limits"])))
    elif os.name == "nt":
        windows = platform_module("sandbox_windows")
        steps = [("job_object", lambda: windows.apply_job_object(config["limits"]))]
    else:
        steps = [("rlimits", lambda: apply_rlimits(config["limits"]))]
    for name, step in steps:
        try:
            report.update(step())
        except Exception as error:
            report[name] = f"not available: {error}"
    return report


def macos_seatbelt(config: dict[str, Any]) -> dict[str, Any]:
    python, keep = python_paths()
    homes = sorted({"/Users", "/var/root", *config.get("homes", [])} - {""})
    macos = platform_module("sandbox_macos")
    result: dict[str, Any] = macos.apply_seatbelt(config["workdir"], homes, [*python, *keep])
    return result


def send_report(config: dict[str, Any], report: dict[str, Any]) -> None:
    """To the inherited pipe (POSIX), or as stderr's first line (Windows)."""
    if config.get("report_fd", -1) < 0:
        sys.stderr.write(REPORT_PREFIX + json.dumps(report) + "\n")
        sys.stderr.flush()
        return
    with os.fdopen(config["report_fd"], "w") as channel:
        channel.write(json.dumps(report))


def main() -> None:
    config = json.loads(sys.stdin.read())
    os.chdir(config["workdir"])
    send_report(config, lock_in_here(config))
    sys.stdin.close()
    os.environ.clear()
    work = config["workdir"]
    os.environ.update({"HOME": work, "TMPDIR": work, "TEMP": work, "TMP": work})
    sys.argv = ["<tool>"]
    standard_library_only()
    run_code(config["code"])


def run_code(source: str) -> None:
    """Run the model's code; a traceback shows its lines, not this file's."""
    import linecache
    import traceback

    linecache.cache["<tool>"] = (len(source), None, source.splitlines(True), "<tool>")
    try:
        exec(compile(source, "<tool>", "exec"), {"__name__": "__main__"})
    except SystemExit:
        raise
    except BaseException as error:
        frames = error.__traceback__.tb_next if error.__traceback__ else None
        traceback.print_exception(type(error), error, frames)
        sys.exit(1)


if __name__ == "__main__":
    main()
