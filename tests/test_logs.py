"""The log file gets what would otherwise vanish: a worker thread's uncaught exception, a
hard crash's stacks (faulthandler), and a full disk costs nothing but the lost lines.

Each case runs in a fresh process, as the app does, so the hooks are the real ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.full_disk import small_filesystem

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHATDESK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONFAULTHANDLER", None)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


def log_text(home: Path) -> str:
    return (home / "logs" / "chatdesk.log").read_text(encoding="utf-8")


def test_a_worker_thread_exception_is_logged(tmp_path: Path) -> None:
    code = (
        "import threading\n"
        "from chatdesk.logs import setup_logging\n"
        "setup_logging()\n"
        "def work():\n"
        "    raise ValueError('the index went away')\n"
        "t = threading.Thread(target=work, name='docs-indexer')\n"
        "t.start(); t.join()\n"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0
    text = log_text(tmp_path)
    assert "ERROR chatdesk.threads" in text
    assert "uncaught exception in thread docs-indexer" in text
    assert "ValueError: the index went away" in text
    assert "ValueError: the index went away" in result.stderr  # Python's own report stays


def test_a_hard_crash_leaves_its_stacks_in_the_log(tmp_path: Path) -> None:
    code = (
        "import faulthandler, logging\n"
        "from chatdesk.logs import setup_logging\n"
        "setup_logging()\n"
        "logging.getLogger('chatdesk.engine').info('before the crash')\n"
        "def deep_in_native_code():\n"
        "    faulthandler._sigsegv()\n"
        "deep_in_native_code()\n"
    )
    result = run_python(code, tmp_path)
    assert result.returncode != 0
    text = log_text(tmp_path)
    assert "before the crash" in text
    assert "Fatal Python error: Segmentation fault" in text
    assert "deep_in_native_code" in text


def test_a_full_disk_drops_log_lines_quietly(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "home", size_kb=256) as home:
        code = (
            "import logging\n"
            "from pathlib import Path\n"
            "from chatdesk.logs import LogFile, setup_logging\n"
            "from tests.support.full_disk import fill\n"
            "setup_logging()\n"
            "log = logging.getLogger('chatdesk.turns')\n"
            "log.info('first line')\n"
            f"fill(Path({str(home)!r}))\n"
            "for n in range(2000):\n"
            "    log.info('reply %d finished in conversation abc', n)\n"
            "print('dropped', LogFile.dropped)\n"
        )
        result = run_python(code, home)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""  # no "--- Logging error ---" tracebacks on the terminal
        assert int(result.stdout.split()[-1]) > 0
        assert "first line" in log_text(home)
