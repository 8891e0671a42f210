"""The API server examples of the guide, run exactly as shown (only the port is changed to a
free one): ``chatdesk serve``, then the ``curl`` block and the ``openai`` Python block, all
against the real starter model."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.documentation.doc_examples import DOCS, console_commands, prepare_home

PAGE = DOCS / "guide" / "remote-and-api.md"
DOCUMENTED_PORT = "8080"


def block(language: str) -> str:
    """The first fenced block of ``language`` on the API page."""
    found = re.search(rf"^```{language}\n(.*?)^```", PAGE.read_text("utf-8"), re.M | re.S)
    assert found, f"no {language} example on {PAGE.name}"
    return found.group(1)


def free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path, starter_model_path: Path) -> Iterator[str]:
    """The documented ``serve`` line running on a free port; yields the port."""
    env, _ = prepare_home(tmp_path, starter_model_path)
    line = next(line for _, line in console_commands() if line.startswith("chatdesk serve"))
    port = free_port()
    args = [port if arg == DOCUMENTED_PORT else arg for arg in shlex.split(line)[1:]]
    server = subprocess.Popen(
        [sys.executable, "-m", "chatdesk", *args], cwd=tmp_path, env=env, stderr=subprocess.PIPE
    )
    try:
        wait_for(port, server)
        yield port
    finally:
        server.terminate()
        server.communicate(timeout=30)


def wait_for(port: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError("chatdesk serve did not answer within 120 s")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_example_answers(served: str) -> None:
    command = block("sh").replace(f":{DOCUMENTED_PORT}/", f":{served}/")
    done = subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, check=True, timeout=120
    )
    reply = json.loads(done.stdout)
    assert reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"]["content"].strip()


def test_openai_example_streams(served: str) -> None:
    code = block("python").replace(f":{DOCUMENTED_PORT}/", f":{served}/")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the streamed reply printed nothing"
