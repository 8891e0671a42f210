"""The python tool's sandbox on macOS (Seatbelt) and Windows (Job Object).

The escape tests run on the OS they are about (the macOS and Windows jobs of
.github/workflows/release.yml run this file) and are skipped elsewhere with the reason. The
profile text and the report channel are plain functions, checked everywhere.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.tools import sandbox_macos
from chatdesk.tools.sandbox import SandboxLimits, _report_line, run_python
from chatdesk.tools.sandbox_child import REPORT_PREFIX

MACOS = pytest.mark.skipif(sys.platform != "darwin", reason="Seatbelt exists only on macOS")
WINDOWS = pytest.mark.skipif(sys.platform != "win32", reason="Job Objects exist only on Windows")
FAST = SandboxLimits(wall_seconds=20, cpu_seconds=3, output_bytes=10_000)


def test_the_seatbelt_profile_denies_network_writes_and_processes(tmp_path: Path) -> None:
    home = tmp_path / "Users"
    home.mkdir()
    text = sandbox_macos.profile(str(tmp_path / "work"), [str(home)], ["/opt/python"])
    lines = text.splitlines()
    assert lines[:6] == [
        "(version 1)", "(allow default)", "(deny network*)", "(deny process-fork)",
        "(deny process-exec)", "(deny file-write*)",
    ]  # fmt: skip
    assert lines[6].startswith(f'(allow file-write* (subpath "{tmp_path.resolve()}/work")')
    assert lines[7] == f'(deny file-read* (subpath "{home.resolve()}"))'
    assert '(subpath "/opt/python")' in lines[8]  # Python read back, the rules after win


def test_a_quote_in_a_path_cannot_end_the_profile_string() -> None:
    text = sandbox_macos.profile('/nowhere/a") (allow network*', [], [])
    assert '(subpath "/nowhere/a\\") (allow network*")' in text  # the quote stays escaped


def test_the_windows_report_line_is_split_from_stderr() -> None:
    stderr = REPORT_PREFIX + '{"job_object": "one process"}\nTraceback...\n'
    report, rest = _report_line(stderr)
    assert report == {"job_object": "one process"}
    assert rest == "Traceback...\n"
    assert _report_line("plain error\n") == ({}, "plain error\n")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server
    server.close()


@MACOS
def test_macos_seatbelt_blocks_network_writes_home_and_processes(
    listener: socket.socket, tmp_path: Path
) -> None:
    port = listener.getsockname()[1]
    outside = Path.home() / ".chatdesk-sandbox-escape"
    code = (
        "import os, socket, subprocess\n"
        "def attempt(f):\n"
        "    try:\n        f(); return 'ok'\n"
        "    except Exception as e:\n        return type(e).__name__\n"
        f"print(attempt(lambda: socket.create_connection(('127.0.0.1', {port}), 2)))\n"
        f"print(attempt(lambda: open({str(outside)!r}, 'w').write('x')))\n"
        "print(attempt(lambda: os.listdir(os.path.expanduser('~'))))\n"
        "print(attempt(lambda: subprocess.run(['/bin/echo', 'hi'])))\n"
        "print(attempt(lambda: open('mine.txt', 'w').write('x')))\n"
        "print(2**100)"
    )
    result = run_python(code, FAST)
    assert "seatbelt" in result.protections, result.protections
    assert not str(result.protections["seatbelt"]).startswith("not available")
    lines = result.stdout.splitlines()
    assert lines[:4] != ["ok"] * 4
    assert lines[0] != "ok"  # network
    assert lines[1] != "ok"  # write outside its folder
    assert lines[3] != "ok"  # a new process
    assert lines[4:] == ["ok", str(2**100)]
    assert not outside.exists()


@WINDOWS
def test_windows_job_object_limits_and_says_what_is_missing() -> None:
    result = run_python("import subprocess\nsubprocess.run(['cmd', '/c', 'echo hi'])", FAST)
    assert result.stopped is not None
    assert "new process" in result.stopped
    assert str(result.protections["job_object"]).startswith("one process")
    assert str(result.protections["filesystem"]).startswith("not available")
    assert str(result.protections["network"]).startswith("not available")
    computed = run_python("print(2**100)", FAST)
    assert computed.ok
    assert computed.stdout.strip() == str(2**100)


@WINDOWS
def test_windows_memory_and_cpu_limits_stop_the_code() -> None:
    memory = run_python("x = bytearray(4 * 1024**3)", FAST)
    assert memory.stopped is not None
    assert "memory" in memory.stopped
    spin = run_python("while True:\n    pass", FAST)
    assert spin.stopped is not None
    assert "CPU" in spin.stopped
