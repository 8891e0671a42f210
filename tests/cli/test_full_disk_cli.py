"""``chatdesk ask`` on a full disk (issue 21, item 10): one line, no logging tracebacks.

The data root is a real small file system (tmpfs), filled before the question; the model
is the real starter model. Before the fix the reply ended with the right line after
thousands of stderr lines: every log record printed a "--- Logging error ---" traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.full_disk import fill, small_filesystem

ROOT = Path(__file__).resolve().parents[2]


def test_ask_on_a_full_disk_is_one_line(tmp_path: Path, starter_model_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    with small_filesystem(tmp_path / "home", size_kb=8192) as home:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CHATDESK_HOME": str(home)}
        args = ["ask", str(starter_model_path), "Say hi", "--max-tokens", "8", "--ctx", "1024"]

        def ask() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "chatdesk", *args],
                capture_output=True, text=True, env=env, check=False, timeout=300,
            )  # fmt: skip

        assert ask().returncode == 0  # the database and the log exist, then the disk fills
        fill(home)
        asked = ask()
    lines = asked.stderr.strip().splitlines()
    assert asked.returncode != 0
    assert "Logging error" not in asked.stderr
    assert "Traceback" not in asked.stderr
    assert len(lines) == 1, asked.stderr[-2000:]
    assert "disk is full" in lines[0]


def test_logging_on_a_full_disk_is_quiet_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import logging

    from chatdesk.logs import QuietFileHandler, setup_logging

    with small_filesystem(tmp_path / "home", size_kb=1024) as home:
        monkeypatch.setenv("CHATDESK_HOME", str(home))
        path = setup_logging()
        assert path is not None
        log = logging.getLogger("chatdesk.test")
        log.info("before the disk filled")
        filler = fill(home)
        for number in range(300):
            log.warning("record %d while full: %s", number, "x" * 200)
        handler = next(
            h
            for h in logging.getLogger("chatdesk").handlers
            if isinstance(h, QuietFileHandler) and Path(h.baseFilename) == path
        )
        assert handler.dropped > 0
        assert capfd.readouterr().err == ""  # was: a "--- Logging error ---" traceback each
        filler.unlink()
        log.info("space is back")
        handler.flush()
        assert "space is back" in path.read_text()
        logging.getLogger("chatdesk").removeHandler(handler)
        handler.close()
