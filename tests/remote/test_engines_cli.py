"""``chatdesk engines``: add, edit, list, remove, models; keys never stored in plain text."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from chatdesk import paths
from chatdesk.cli.main import main
from chatdesk.remote import keys
from tests.support.openai_servers import LlamaCppServer


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_add_list_edit_remove(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "engines", "add", "gpu", "http://gpu-box:8000", "--api-key-env", "GPU_KEY"
    )
    assert status == 0
    assert "gpu: http://gpu-box:8000/v1 (API key: $GPU_KEY)" in out
    status, out, _ = run(capsys, "engines", "list", "--json")
    assert json.loads(out)[0]["base_url"] == "http://gpu-box:8000/v1"
    status, out, _ = run(
        capsys, "engines", "edit", "gpu", "--url", "https://gpu-box/v1", "--no-api-key-env"
    )
    assert "https://gpu-box/v1 (API key: none)" in out
    assert run(capsys, "engines", "rm", "gpu")[0] == 0
    assert "no remote engines" in run(capsys, "engines", "list")[1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("engines", "add", "x y", "http://h/v1"), "engine name 'x y'"),
        (("engines", "add", "x", "gpu-box:8000"), "not an http(s) URL"),
        (("engines", "add", "x", "http://h/v1", "--api-key-env", "1BAD"), "environment variable"),
        (("engines", "add", "x", "http://h/v1", "--ca-bundle", "/no/such.pem"), "not a file"),
        (("engines", "rm", "ghost"), "no remote engine named 'ghost'"),
        (("engines", "models", "ghost"), "no remote engine named 'ghost'"),
    ],
)
def test_bad_input_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], words: str
) -> None:
    status, _, err = run(capsys, *args)
    assert status == 1
    assert words in err
    assert err.count("\n") == 1


def test_duplicate_names_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "engines", "add", "a", "http://h/v1")[0] == 0
    status, _, err = run(capsys, "engines", "add", "a", "http://other/v1")
    assert status == 1
    assert "exists" in err


def test_key_without_a_keyring_is_kept_for_the_session_only(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "keyring_available", lambda: False)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("sk-secret-123\n"))
    status, out, _ = run(
        capsys, "engines", "add", "cloud", "https://api.example/v1", "--api-key-stdin"
    )
    assert status == 0
    assert "no system keyring is available" in out
    assert "this session only" in out
    assert keys.load_key("cloud") == "sk-secret-123"
    database = Path(paths.database_path()).read_bytes()
    assert b"sk-secret-123" not in database  # never written in plain text
    with sqlite3.connect(paths.database_path()) as db:
        dump = "\n".join(db.iterdump())
    assert "sk-secret-123" not in dump
    run(capsys, "engines", "rm", "cloud")
    assert keys.load_key("cloud") is None


def test_api_key_env_is_read_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "first")
    assert keys.load_key("e", "MY_KEY") == "first"
    monkeypatch.setenv("MY_KEY", "second")
    assert keys.load_key("e", "MY_KEY") == "second"


@pytest.mark.slow
def test_models_lists_what_the_server_serves(
    capsys: pytest.CaptureFixture[str], llama_server: LlamaCppServer
) -> None:
    run(capsys, "engines", "add", "local", llama_server.url)
    status, out, _ = run(capsys, "engines", "models", "local")
    assert status == 0
    assert out.strip() == "starter"


def test_models_of_an_unreachable_server_is_a_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.support.openai_servers import free_port

    run(capsys, "engines", "add", "down", f"http://127.0.0.1:{free_port()}/v1")
    status, _, err = run(capsys, "engines", "models", "down")
    assert status == 1
    assert "down: connection refused" in err
