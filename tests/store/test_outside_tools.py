"""``chatdesk.db`` in other SQLite tools, as the privacy guide tells users to do it.

The guide's command (docs/guide/privacy.md) is run as written, through the real
``sqlite-utils`` command, against a database ChatDesk wrote; ChatDesk's search must then
find the changed text, in Chinese too, and nothing of what was taken out.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chatdesk.store import Store
from chatdesk.store.unspaced import spaced

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "privacy.md"
SQLITE_UTILS = Path(sys.executable).parent / "sqlite-utils"


def guide_command() -> str:
    """The guide's ``sqlite-utils`` command (its only ``sh`` block)."""
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, blocks
    return blocks[0]


def test_the_guide_s_function_spaces_text_as_chatdesk_does() -> None:
    code = re.search(r"--functions '(.*)'", guide_command(), re.DOTALL)
    assert code is not None
    names: dict[str, object] = {}
    exec(code.group(1), names)  # the guide's own code, checked against the app's
    function = names["chatdesk_spaced"]
    assert callable(function)
    for text in ("我昨天在灯塔看守人的小屋里", "ガイド", "학교에서 ok", "plain", "", None, 3):
        assert function(text) == spaced(text)


def test_the_guide_s_command_changes_messages_that_search_then_finds(db_path: Path) -> None:
    with Store(db_path) as store:
        chat = store.create_conversation("灯塔")
        note = store.append_message(chat.id, "user", "灯塔看守人的电话是 555-0199。")
    with sqlite3.connect(db_path) as plain, pytest.raises(sqlite3.OperationalError) as error:
        plain.execute("UPDATE messages SET content = 'x'")  # what the guide warns of
    assert "no such function: chatdesk_spaced" in str(error.value)
    command = guide_command().replace("sqlite-utils", str(SQLITE_UTILS), 1)
    command = command.replace("chatdesk.db", str(db_path), 1)
    subprocess.run(["bash", "-c", command], check=True, capture_output=True, timeout=60)
    with Store(db_path) as store:
        assert store.get_message(note.id).content == "灯塔看守人的电话是 [removed]。"
        assert [hit.message_id for hit in store.search("看守")] == [note.id]
        assert [hit.message_id for hit in store.search("removed")] == [note.id]
        assert store.search("0199") == []
        store.delete_conversation(chat.id)  # the index agrees with the rows: no error
        assert store.search("看守") == []
