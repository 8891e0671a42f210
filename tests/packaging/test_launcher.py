"""The frozen app's launcher: the installed command line, plus the hidden engine-host command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from chatdesk import __version__

REPO = Path(__file__).resolve().parents[2]


def test_launcher_answers_version_like_the_installed_command() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "launcher.py"), "--version"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"chatdesk {__version__}"


def test_engine_client_host_command_reaches_the_engine_host(
    launcher: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatdesk.cli import engine_commands
    from chatdesk.engine import client

    started: list[str] = []

    def fake_engine_host(args: object) -> int:
        started.append(getattr(args, "command", ""))
        return 0

    monkeypatch.setattr(engine_commands, "run_engine_host", fake_engine_host)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/ChatDesk/chatdesk")
    command = client.host_command()
    assert command[0] == "/opt/ChatDesk/chatdesk"
    assert launcher.main(command[1:]) == 0
    assert started == [client.HOST_SUBCOMMAND]


def test_other_arguments_go_to_the_chatdesk_command_line(
    launcher: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        launcher.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"chatdesk {__version__}"


def test_the_sandbox_child_is_recognised_before_anything_is_imported(
    launcher: ModuleType,
) -> None:
    """The launcher's own copy of the hidden command's name is the sandbox's."""
    from chatdesk.tools.sandbox import SANDBOX_SUBCOMMAND

    assert launcher.SANDBOX_SUBCOMMAND == SANDBOX_SUBCOMMAND
    source = (REPO / "packaging" / "launcher.py").read_text()
    assert source.index("SANDBOX_SUBCOMMAND]") < source.index("import multiprocessing")
    assert source.index("SANDBOX_SUBCOMMAND]") < source.index("from chatdesk.cli")
