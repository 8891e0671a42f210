"""The python tool's sandbox: escape attempts are stopped with a clear result, the caller
(this test process) is unharmed, and the result says which protections applied.

On Linux with user namespaces, Landlock and seccomp (x86-64), every protection is on and
the tests check each one; where the system lacks one, the test of what it guards is
skipped with the reason (the report says it was not available).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.tools.sandbox import SandboxLimits, SandboxResult, run_python

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the sandbox limits are POSIX")
FAST = SandboxLimits(wall_seconds=8, cpu_seconds=2, output_bytes=10_000)


def run(code: str, limits: SandboxLimits = FAST) -> SandboxResult:
    result = run_python(code, limits)
    assert isinstance(result.as_text(), str)
    return result


@pytest.fixture(scope="module")
def protections() -> dict[str, object]:
    return run("print('ok')").protections


def require(protections: dict[str, object], name: str) -> None:
    value = str(protections.get(name, "missing"))
    if value.startswith(("not available", "missing")):
        pytest.skip(f"{name}: {value}")


def test_runs_code_and_reports_its_protections(protections: dict[str, object]) -> None:
    result = run("import math\nprint(math.factorial(20))")
    assert result.ok
    assert result.stdout == "2432902008176640000\n"
    assert set(protections) >= {"rlimits"}
    assert result.protections == protections


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    yield server
    server.close()


def test_cannot_open_a_socket_to_localhost(listener: socket.socket, protections: dict) -> None:
    require(protections, "namespaces")
    port = listener.getsockname()[1]
    result = run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), 2)\nprint('in')")
    assert not result.ok
    assert "in" not in result.stdout
    assert "Error" in result.stderr
    with pytest.raises(TimeoutError):
        listener.accept()


@pytest.fixture
def fake_ssh_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private key in ~/.ssh of a home folder made for the test (HOME points there)."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_ed25519"
    key.write_text("SECRET-KEY-MATERIAL")
    monkeypatch.setenv("HOME", str(home))
    return key


def test_cannot_read_the_home_folder(fake_ssh_key: Path, protections: dict) -> None:
    if not str(protections.get("namespaces", "")).startswith("user") and str(
        protections.get("landlock", "not available")
    ).startswith("not available"):
        pytest.skip("neither mount namespaces nor Landlock here")
    result = run(f"print(open({str(fake_ssh_key)!r}).read())")
    assert "SECRET-KEY-MATERIAL" not in result.stdout + result.stderr
    assert not result.ok
    assert "FileNotFoundError" in result.stderr or "Permission" in result.stderr


def test_cannot_write_outside_its_folder(tmp_path: Path, protections: dict) -> None:
    require(protections, "landlock")
    target = tmp_path / "escaped.txt"
    result = run(f"open({str(target)!r}, 'w').write('x')\nopen('inside.txt', 'w').write('ok')")
    assert not target.exists()
    assert "PermissionError" in result.stderr
    inside = run("open('inside.txt', 'w').write('ok')\nprint(open('inside.txt').read())")
    assert inside.ok
    assert inside.stdout == "ok\n"


def test_fork_bomb_is_stopped(protections: dict) -> None:
    result = run("import os\nwhile True:\n    os.fork()")
    assert not result.ok
    assert result.stopped is not None
    if not str(protections.get("seccomp", "")).startswith("not available"):
        assert "new process" in result.stopped


def test_infinite_loop_hits_the_cpu_limit() -> None:
    started = time.monotonic()
    result = run("while True:\n    pass")
    assert result.stopped is not None
    assert "CPU" in result.stopped
    assert time.monotonic() - started < FAST.wall_seconds + 5


def test_sleeping_forever_hits_the_wall_time_limit() -> None:
    result = run("import time\ntime.sleep(3600)", SandboxLimits(wall_seconds=2))
    assert result.stopped == "ran longer than 2 s (wall-time limit)"


def test_ten_gigabytes_are_refused() -> None:
    result = run("x = bytearray(10 * 1024**3)\nprint(len(x))")
    assert result.stopped is not None
    assert "memory limit" in result.stopped
    assert result.stdout == ""


def test_huge_output_is_cut() -> None:
    result = run("while True:\n    print('x' * 1000)")
    assert result.stopped is not None
    assert "output limit" in result.stopped
    assert len(result.stdout.encode()) <= FAST.output_bytes


def test_no_environment_or_site_packages_leak_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATDESK_SECRET_TOKEN", "hunter2")
    result = run(
        "import os, sys\nprint(sorted(os.environ))\nprint(sys.flags.isolated)\n"
        "import importlib.util\nprint(importlib.util.find_spec('mcp'))"
    )
    assert "CHATDESK_SECRET_TOKEN" not in result.stdout
    assert result.stdout.splitlines()[-2:] == ["1", "None"]


def test_the_caller_keeps_working_after_every_attempt() -> None:
    assert run("print(sum(range(10)))").stdout == "45\n"
    assert sys.getrecursionlimit() > 0
    assert os.getpid() > 0


def test_stop_all_kills_a_run_in_progress() -> None:
    import threading

    from chatdesk.tools.sandbox import stop_all

    results: list[SandboxResult] = []
    worker = threading.Thread(target=lambda: results.append(run("import time; time.sleep(60)")))
    worker.start()
    deadline = time.monotonic() + 10
    while not stop_all() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.join(10)
    assert results[0].stopped == "stopped by the user"


def test_only_the_standard_library_can_be_imported() -> None:
    """Not the site-packages, not ChatDesk, not the files next to the child's own module."""
    code = (
        "import importlib.util, json, sys\n"
        "names = ['json', 'sqlite3', 'numpy', 'chatdesk', 'sandbox_child', 'calculator']\n"
        "print(json.dumps({n: importlib.util.find_spec(n) is not None for n in names}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('chatdesk')))"
    )
    result = run(code)
    assert result.ok, result.stderr
    found, loaded = result.stdout.splitlines()
    assert json.loads(found) == {
        "json": True, "sqlite3": True, "numpy": False, "chatdesk": False,
        "sandbox_child": False, "calculator": False,
    }  # fmt: skip
    assert loaded == "[]"
