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


def test_ask_takes_options_between_the_model_and_the_question(
    chatdesk_home: Path, starter_model_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    model = str(starter_model_path)
    asked = chatdesk(chatdesk_home, "ask", model, "--max-tokens", "5", "--ctx", "2048", "Hello")
    assert asked.returncode == 0, asked.stderr
    cid = chatdesk(chatdesk_home, "list").stdout.split()[0]
    again = chatdesk(chatdesk_home, "ask", model, "--conversation", cid, "--max-tokens", "5", "Bye")
    assert again.returncode == 0, again.stderr
    shown = chatdesk(chatdesk_home, "show", cid).stdout
    assert "Hello" in shown
    assert "Bye" in shown
    assert len(chatdesk(chatdesk_home, "list").stdout.splitlines()) == 1
