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


def test_engine_host_command_runs_the_host_module_with_the_rest_of_the_arguments(
    launcher: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, list[str]]] = []

    def fake_run_module(name: str, run_name: str, alter_sys: bool) -> dict[str, object]:
        assert (run_name, alter_sys) == ("__main__", True)
        calls.append((name, list(sys.argv[1:])))
        return {}

    monkeypatch.setattr(launcher.runpy, "run_module", fake_run_module)
    monkeypatch.setattr(sys, "argv", ["chatdesk", "__engine-host", "--fd", "3"])
    assert launcher.main() == 0
    assert calls == [(launcher.ENGINE_HOST_MODULE, ["--fd", "3"])]


def test_other_arguments_go_to_the_chatdesk_command_line(
    launcher: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        launcher.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"chatdesk {__version__}"
