"""`chatdesk ask` with the real starter model, as a user runs it, then its export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def chatdesk(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CHATDESK_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "chatdesk", *args],
        capture_output=True, text=True, env=env, check=False, timeout=300,
    )  # fmt: skip


def test_ask_at_temperature_0_answers_paris_and_exports_like_the_chat(
    chatdesk_home: Path, starter_model_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    question = "What is the capital of France? Answer in one word."
    args = ["ask", str(starter_model_path), question, "--temperature", "0", "--max-tokens", "32"]
    asked = chatdesk(chatdesk_home, *args, "--ctx", "2048")
    assert asked.returncode == 0, asked.stderr
    assert "Paris" in asked.stdout
    listed = chatdesk(chatdesk_home, "list")
    cid = listed.stdout.split()[0]
    exported = chatdesk(chatdesk_home, "export", cid, "--format", "md")
    assert exported.returncode == 0, exported.stderr
    text = exported.stdout
    assert f"## User\n\n{question}\n" in text
    assert "Paris" in text.split("## Assistant", 1)[1]
    model_line = next(line for line in text.splitlines() if line.startswith("model: "))
    assert "/" not in model_line
    assert str(starter_model_path.parent) not in text  # file name only, no local folders
