"""The conversation commands, run through ``chatdesk.cli.main.main`` and as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatdesk.cli.main import main
from chatdesk.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def chats(chatdesk_home: Path) -> dict[str, str]:
    """Two conversations in the user's store; returns their ids by name."""
    with Store() as store:
        trip = store.create_conversation("Kyoto trip", model="qwen")
        store.append_message(trip.id, "user", "Which temples in autumn?")
        first = store.append_message(trip.id, "assistant", "Tofuku-ji and Eikando.", model="qwen")
        store.append_message(trip.id, "assistant", "Kiyomizu-dera.", parent_id=first.parent_id)
        pasta = store.create_conversation("Pasta")
        store.append_message(pasta.id, "user", "garlic and oil")
        store.set_pinned(pasta.id, True)
    return {"trip": trip.id, "pasta": pasta.id}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_list(chats: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["list"], capsys)
    lines = out.splitlines()
    assert status == 0
    assert len(lines) == 2
    assert lines[0].startswith(chats["pasta"][:12])
    assert "* Pasta" in lines[0]
    assert "Kyoto trip" in lines[1]
    status, out, _ = run(["list", "--json"], capsys)
    data = json.loads(out)
    assert [c["title"] for c in data] == ["Pasta", "Kyoto trip"]
    assert data[0]["pinned"] is True


def test_list_empty(chatdesk_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["list"], capsys)
    assert (status, out) == (0, "")
    assert "no conversations" in err
    assert json.loads(run(["list", "--json"], capsys)[1]) == []


def test_search(chats: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["search", "temples"], capsys)
    assert status == 0
    assert "Kyoto trip (message): Which [temples] in autumn?" in out
    hits = json.loads(run(["search", "kyoto", "--json"], capsys)[1])
    assert hits[0]["conversation_id"] == chats["trip"]
    assert hits[0]["message_id"] is None
    status, out, err = run(["search", '"NEAR(*'], capsys)
    assert (status, out) == (0, "")
    assert "no matches" in err


def test_show_by_prefix(chats: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["show", chats["trip"][:6]], capsys)
    assert status == 0
    assert out.startswith("Kyoto trip\n")
    assert "── assistant · branch 2 of 2 ──\nKiyomizu-dera." in out
    assert "Tofuku-ji" not in out
    data = json.loads(run(["show", chats["trip"], "--json"], capsys)[1])
    assert len(data["conversations"][0]["messages"]) == 3


def test_show_errors(chats: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["show", "nope"], capsys)
    assert status == 1
    assert out == ""
    assert err == "chatdesk: error: no conversation with id 'nope' (see 'chatdesk list')\n"
    status, _, err = run(["show", ""], capsys)
    assert (status, err) == (1, "chatdesk: error: empty conversation id\n")


def test_ambiguous_prefix(chatdesk_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Store() as store:
        from chatdesk.store import Conversation

        for cid in ("abc1" + "0" * 28, "abc2" + "0" * 28):
            store.insert_conversation(Conversation(cid, "t", "2026-01-01", "2026-01-01"))
    status, _, err = run(["show", "abc"], capsys)
    assert status == 1
    assert "ambiguous" in err
    assert run(["show", "abc1"], capsys)[0] == 0


def test_export_and_import_round_trip(
    chats: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "trip.json"
    assert run(["export", chats["trip"][:8], "--format", "json", "-o", str(target)], capsys)[0] == 0
    exported = target.read_text(encoding="utf-8")
    with Store() as store:
        store.delete_conversation(chats["trip"])
    status, out, _ = run(["import", str(target)], capsys)
    assert (status, out) == (0, "imported 1 conversation (3 messages)\n")
    status, out, _ = run(["show", chats["trip"], "--json"], capsys)
    assert out == exported


def test_export_markdown_to_stdout(
    chats: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(["export", chats["pasta"]], capsys)
    assert status == 0
    assert out.startswith('---\ntitle: "Pasta"\n')
    assert "## User\n\ngarlic and oil\n" in out  # reads like the chat: no code fence


def test_export_all(
    chats: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "exports"
    status, _, err = run(["export", "--all", "--format", "md", "-o", str(folder)], capsys)
    assert status == 0
    assert "exported 2 conversations" in err
    assert sorted(p.name for p in folder.iterdir()) == ["Kyoto trip.md", "Pasta.md"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "--format", "md"], "give either a conversation ID or --all"),
        (["export", "x", "--all", "-o", "out"], "give either a conversation ID or --all"),
        (["export", "--all"], "--all needs -o FOLDER"),
        (["export", "zzzz"], "no conversation with id 'zzzz'"),
        (["import", "/nonexistent/file.json"], "cannot read /nonexistent/file.json"),
    ],
)
def test_export_import_errors(
    chats: dict[str, str], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, out, err = run(args, capsys)
    assert status == 1
    assert out == ""
    assert err.startswith("chatdesk: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_export_to_unwritable_path(
    chats: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    status, _, err = run(["export", chats["trip"], "-o", str(blocker / "x.md")], capsys)
    assert status == 1
    assert err.startswith(f"chatdesk: error: cannot write {blocker / 'x.md'}:")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"conversations": [{"title": "t", "messages": [{"role": "user"}]}]}', "'content'"),
        ('{"conversations": [{"title": 1, "messages": []}]}', "title: expected a string"),
    ],
)
def test_bad_import_files_write_nothing(
    chats: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    message: str,
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    status, _, err = run(["import", str(path)], capsys)
    assert status == 1
    assert message in err
    assert err.count("\n") == 1
    with Store() as store:
        assert store.count_conversations() == 2


def test_newer_database_is_refused_cleanly(
    chatdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Store().close()
    import sqlite3

    conn = sqlite3.connect(chatdesk_home / "chatdesk.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    status, _, err = run(["list"], capsys)
    assert status == 1
    assert "newer version of ChatDesk" in err


def test_as_a_process(chats: dict[str, str], chatdesk_home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CHATDESK_HOME": str(chatdesk_home)}
    done = subprocess.run(
        [sys.executable, "-m", "chatdesk", "show", "nope"],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == "chatdesk: error: no conversation with id 'nope' (see 'chatdesk list')\n"
    done = subprocess.run(
        [sys.executable, "-m", "chatdesk", "list"],
        capture_output=True, text=True, env=env, check=True, timeout=60,
    )  # fmt: skip
    assert "Kyoto trip" in done.stdout


def long_chat(lines: int) -> str:
    """A conversation whose `show` output is far longer than a pipe's buffer."""
    with Store() as store:
        chat = store.create_conversation("Long")
        for index in range(lines):
            store.append_message(chat.id, "user", f"line {index} " + "x" * 200)
    return chat.id


@pytest.mark.parametrize(
    "args",
    [
        ["show", "{id}"],
        ["show", "{id}", "--json"],
        ["export", "{id}"],
        ["list"],
        ["search", "line"],
    ],
)
def test_a_closed_pipe_is_a_normal_end(chatdesk_home: Path, args: list[str]) -> None:
    """`chatdesk show ID | head -2`: no error line, exit status 0."""
    cid = long_chat(600)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CHATDESK_HOME": str(chatdesk_home)}
    command = [sys.executable, "-m", "chatdesk", *(a.format(id=cid) for a in args)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()  # what `head -1` does after its line
        status = process.wait(timeout=60)
        errors = process.stderr.read().decode()
    assert first
    assert errors == ""
    assert status == 0


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--json"],
        ["models", "list", "--json"],
        ["ask", "{model}", "Name a colour.", "--logprobs", "3", "--json", "--max-tokens", "4"],
    ],
)
def test_a_short_output_into_a_pipe_already_closed_ends_quietly(
    chatdesk_home: Path, tiny_model_path: Path, args: list[str]
) -> None:
    """`chatdesk ask M Q --json | head -c 1500`: what stayed buffered until exit met the
    closed pipe there ("Exception ignored ... BrokenPipeError", status 120)."""
    if args[0] == "ask":
        pytest.importorskip("llama_cpp")
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as installed
    env = {**environ, "PYTHONPATH": str(ROOT), "CHATDESK_HOME": str(chatdesk_home)}
    command = [sys.executable, "-m", "chatdesk", *(a.format(model=tiny_model_path) for a in args)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # the reader is gone before the command writes
        status = process.wait(timeout=120)
        errors = process.stderr.read().decode()
    assert (status, errors) == (0, "")
