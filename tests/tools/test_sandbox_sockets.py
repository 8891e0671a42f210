"""The python tool's sandbox against the desktop's UNIX sockets, and its disk quota.

Each attack runs twice: once in a plain Python process (the control: it must reach the
real service, or the test would prove nothing) and once in the sandbox, where it must
fail. The services are real: an X server under Xvfb (display :93), an ``ssh-agent`` and a
D-Bus session bus; a test is skipped, with the reason, only where the program is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.tools import sandbox
from chatdesk.tools.sandbox import SandboxLimits, run_python

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")
LIMITS = SandboxLimits(wall_seconds=15, cpu_seconds=5, output_bytes=20_000)
DISPLAY = ":93"

ATTACK = """
import json, os, socket
reached = []
def attempt(name, address, kind=socket.SOCK_STREAM):
    try:
        s = socket.socket(socket.AF_UNIX, kind)
        s.settimeout(2)
        s.connect(address)
        reached.append(name)
    except OSError:
        pass
    try:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        a.sendto(b"x", address)
        reached.append(name + " (sendto)")
    except (OSError, TypeError):
        pass
for name, address in TARGETS:
    attempt(name, address)
seen = [v for v in ("DISPLAY", "SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS",
        "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR") if v in os.environ]
print(json.dumps({"reached": reached, "environment": seen}))
"""


def attack(targets: list[tuple[str, str]], sandboxed: bool) -> dict[str, list[str]]:
    code = f"TARGETS = {targets!r}\n{ATTACK}"
    if sandboxed:
        result = run_python(code, LIMITS)
        assert result.exit_code == 0, result.as_text()
        return dict(json.loads(result.stdout))
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(plain.stdout))


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed (apt-get install it to run this attack)")
    return path


def wait_for(path: Path, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), f"{path} never appeared"


@pytest.fixture(scope="module")
def x_server() -> Iterator[Path]:
    xvfb = need("Xvfb")
    socket_path = Path("/tmp/.X11-unix/X93")
    server = subprocess.Popen([xvfb, DISPLAY, "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
    try:
        wait_for(socket_path)
        yield socket_path
    finally:
        server.kill()
        server.wait()


@contextlib.contextmanager
def serving(command: list[str], socket_path: Path) -> Iterator[Path]:
    """``command`` running until its socket appears; killed and its folder removed after."""
    socket_path.parent.mkdir(mode=0o700, exist_ok=True)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(socket_path)
        yield socket_path
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(socket_path.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def ssh_agent() -> Iterator[Path]:
    socket_path = Path(f"/tmp/chatdesk-i21-ssh-{os.getpid()}/agent.sock")
    with serving([need("ssh-agent"), "-D", "-a", str(socket_path)], socket_path) as path:
        yield path


@pytest.fixture(scope="module")
def dbus_session() -> Iterator[Path]:
    socket_path = Path(f"/tmp/chatdesk-i21-dbus-{os.getpid()}/bus")
    command = [need("dbus-daemon"), "--session", "--nofork", f"--address=unix:path={socket_path}"]
    with serving(command, socket_path) as path:
        yield path


def test_x11_display_socket_is_out_of_reach(x_server: Path) -> None:
    targets = [("X11 path", str(x_server)), ("X11 abstract", f"\0{x_server}")]
    assert "X11 path" in attack(targets, sandboxed=False)["reached"]
    assert attack(targets, sandboxed=True)["reached"] == []


def test_xtest_typing_into_the_display_fails(x_server: Path) -> None:
    code = "import subprocess\nsubprocess.run(['xdotool', 'type', 'rm -rf ~'], check=True)"
    result = run_python(code, LIMITS)
    assert result.exit_code != 0
    if shutil.which("xdotool"):  # the control: the same command works from outside
        env = {**os.environ, "DISPLAY": DISPLAY}
        assert subprocess.run(["xdotool", "getmouselocation"], env=env, check=False).returncode == 0


def test_ssh_agent_is_out_of_reach(ssh_agent: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent))
    targets = [("ssh-agent", str(ssh_agent))]
    assert attack(targets, sandboxed=False)["reached"] == ["ssh-agent"]
    assert attack(targets, sandboxed=True) == {"reached": [], "environment": []}


def test_dbus_session_bus_is_out_of_reach(
    dbus_session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={dbus_session}")
    targets = [("D-Bus", str(dbus_session))]
    assert attack(targets, sandboxed=False)["reached"] == ["D-Bus"]
    assert attack(targets, sandboxed=True) == {"reached": [], "environment": []}


def test_desktop_variables_and_socket_folders_are_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in [("DISPLAY", DISPLAY), ("WAYLAND_DISPLAY", "wayland-0")]:
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/0")
    code = "import os\nprint(sorted(os.environ))\nprint(os.path.exists('/tmp/.X11-unix'))"
    result = run_python(code, LIMITS)
    assert result.stdout.splitlines() == ["['HOME', 'TEMP', 'TMP', 'TMPDIR']", "False"]
    hidden = result.protections.get("hidden", [])
    if "not available" in str(result.protections.get("namespaces", "")):
        pytest.skip(f"no mount namespace: {result.protections['namespaces']}")
    assert {"/tmp", "/run"} <= set(hidden)


def test_socket_folders_come_from_the_environment() -> None:
    environ = {
        "SSH_AUTH_SOCK": "/home/u/.ssh/agent.sock",
        "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus,guid=1",
        "XDG_RUNTIME_DIR": "/run/user/1000",
        "WAYLAND_DISPLAY": "wayland-0",
    }
    assert sandbox.socket_folders(environ) == ["/home/u/.ssh", "/run/user/1000"]


WRITE_320_MIB = "for i in range(40):\n    open(f'f{i}', 'wb').write(b'x' * (8 << 20))"


def test_writing_320_mib_stops_at_the_disk_quota() -> None:
    limits = SandboxLimits(wall_seconds=20, disk_bytes=32 << 20)
    result = run_python(WRITE_320_MIB, limits)
    assert result.stopped == "wrote more than 32 MiB in all (disk quota)"


def test_disk_quota_holds_without_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    original = sandbox._config

    def no_namespaces(*args: object) -> bytes:
        config = json.loads(original(*args))  # type: ignore[arg-type]
        return json.dumps({**config, "namespaces": False}).encode()

    monkeypatch.setattr(sandbox, "_config", no_namespaces)
    limits = SandboxLimits(wall_seconds=20, disk_bytes=32 << 20, file_bytes=8 << 20)
    code = "for i in range(400):\n    open(f'f{i}', 'wb').write(b'x' * ((8 << 20) - 1))"
    result = run_python(code, limits)
    assert "namespaces" not in result.protections
    assert result.stopped == "wrote more than 32 MiB in all (disk quota)"


def test_many_small_files_hit_the_file_count() -> None:
    code = "for i in range(100_000):\n    open(f'f{i}', 'w').close()"
    result = run_python(code, SandboxLimits(wall_seconds=20, disk_files=500))
    assert result.stopped is not None
    assert "disk quota" in result.stopped
