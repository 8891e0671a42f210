"""Import files and databases that once gave tracebacks or broke later commands (issue 10).

Each bad file is refused with one line naming the exact place, and nothing is written; every
failure of the ``chatdesk`` command is one line on stderr and exit status 1.
"""

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


def chat(conversation: dict[str, object] | None = None, **message: object) -> str:
    """An import file with one conversation of one message, changed as given."""
    entry = {"role": "user", "content": "hi", **message}
    record = {"title": "t", "messages": [entry], **(conversation or {})}
    return json.dumps({"conversations": [record]})


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def import_text(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    path = tmp_path / "in.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return run(["import", str(path)], capsys)


@pytest.mark.parametrize(
    ("text", "place"),
    [
        (chat({"settings": {"temperature": "hot"}}), "conversations[0].settings.temperature"),
        (
            '{"conversations": [{"title": "t", "settings": {"temperature": 1e400}, '
            '"messages": []}]}',
            "conversations[0].settings.temperature",
        ),
        (chat({"settings": {"top_p": 7}}), "conversations[0].settings.top_p"),
        (chat({"settings": {"seed": 1.5}}), "conversations[0].settings.seed"),
        (chat({"settings": {"stop": "x"}}), "conversations[0].settings.stop"),
        (chat(settings={"temperature": -1}), "conversations[0].messages[0].settings.temperature"),
        (
            chat({"settings": {"custom": {"deep": [2.5]}}}).replace("2.5", "1e999"),
            "conversations[0].settings.custom.deep[0]",
        ),
        (chat({"id": "\ud800"}), "conversations[0].id"),
        (chat(content="a\udfffb"), "conversations[0].messages[0].content"),
        (chat({"settings": {"n": 10**30}}), "conversations[0].settings.n"),
        ('{"conversations": [], "version": ' + "9" * 5000 + "}", "not valid JSON"),
        (chat(created_at="10000-01-01T00:00:00Z"), "conversations[0].messages[0].created_at"),
    ],
)
def test_bad_values_are_refused_with_their_place_and_nothing_is_written(
    text: str, place: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], chatdesk_home: Path
) -> None:
    status, _, err = import_text(text, tmp_path, capsys)
    assert status == 1
    assert err.count("\n") == 1
    assert err.startswith("chatdesk: error: ")
    assert place in err
    with Store() as store:
        assert store.list_conversations() == []


def test_years_before_1000_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], chatdesk_home: Path
) -> None:
    text = chat({"created_at": "0999-05-01T00:00:00Z"}, created_at="0999-05-01T00:00:00Z")
    assert import_text(text, tmp_path, capsys)[0] == 0
    status, out, _ = run(["list", "--json"], capsys)
    cid = json.loads(out)[0]["id"]
    assert json.loads(out)[0]["created_at"] == "0999-05-01T00:00:00.000000Z"
    status, exported, _ = run(["export", cid, "--format", "json"], capsys)
    assert status == 0
    assert import_text(exported, tmp_path, capsys)[0] == 0  # the export imports again


def test_good_settings_still_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], chatdesk_home: Path
) -> None:
    settings = {"temperature": 0.7, "seed": None, "max_tokens": None, "stop": ["</s>"], "x": "y"}
    assert import_text(chat({"settings": settings}), tmp_path, capsys)[0] == 0
    status, out, _ = run(
        ["show", json.loads(run(["list", "--json"], capsys)[1])[0]["id"], "--json"], capsys
    )
    assert status == 0
    assert json.loads(out)["conversations"][0]["settings"] == settings


def test_missing_key_error_names_a_key_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], chatdesk_home: Path
) -> None:
    text = json.dumps({"conversations": [{"title": "t", "messages": [{"role": "user"}]}]})
    status, _, err = import_text(text, tmp_path, capsys)
    assert status == 1
    assert "conversations[0].messages[0]: missing required key 'content'" in err


def cli(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHATDESK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "chatdesk", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_database_with_garbage_pages_gives_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with Store(home / "chatdesk.db") as store:
        conversation = store.create_conversation("x")
        for n in range(200):
            store.append_message(conversation.id, "user", f"message {n} " * 50)
    database = home / "chatdesk.db"
    data = bytearray(database.read_bytes())
    for offset in range(4096 * 2, len(data), 4096 * 3):  # garbage over every third page
        data[offset : offset + 4096] = os.urandom(4096)
    database.write_bytes(bytes(data))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + bytes(60))
    for args in (
        ["list"],
        ["show", conversation.id],
        ["search", "message"],
        ["ask", str(model), "hi"],
    ):
        result = cli(args, home)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.count("\n") == 1, (args, result.stderr)
        assert result.stderr.startswith("chatdesk: error: ")


def two_chats() -> dict[str, str]:
    with Store() as store:
        first = store.create_conversation("First")
        store.append_message(first.id, "user", "one")
        second = store.create_conversation("Second")
    return {"first": first.id, "second": second.id}


def test_rm_asks_and_deletes_by_prefix(
    chatdesk_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = two_chats()
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("n\n"))
    status, _, err = run(["rm", ids["first"][:8]], capsys)
    assert status == 1
    assert "Delete 'First' (1 messages" in err
    assert "nothing was deleted" in err
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("y\n"))
    assert run(["rm", ids["first"][:8]], capsys)[0] == 0
    assert run(["rm", "--yes", ids["second"]], capsys)[0] == 0
    with Store() as store:
        assert store.list_conversations() == []
    status, _, err = run(["rm", "--yes", "feedbeef"], capsys)
    assert status == 1
    assert "no conversation with id 'feedbeef'" in err


def test_read_only_data_folder_still_lists_shows_exports_and_searches(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(home)], check=False).returncode:
        pytest.skip("needs root to mount a read-only file system")
    try:
        with Store(home / "chatdesk.db") as store:
            chat = store.create_conversation("Readable")
            store.append_message(chat.id, "user", "findable words")
        subprocess.run(["mount", "-o", "remount,ro", str(home)], check=True)
        for args in (["list"], ["show", chat.id[:8]], ["export", chat.id, "--format", "md"],
                     ["search", "findable"]):  # fmt: skip
            result = cli(args, home)
            assert result.returncode == 0, (args, result.stderr)
            assert "Readable" in result.stdout or "findable" in result.stdout
        refused = cli(["rm", "--yes", chat.id], home)
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1
        assert "read-only" in refused.stderr
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)
