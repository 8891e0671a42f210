"""Migration 0007_tools on a database that holds data, and the columns and log it adds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chatdesk.store import InvalidValueError, Store
from chatdesk.store.database import connect
from chatdesk.store.schema import MIGRATIONS


def database_before_tools(path: Path) -> dict[str, str]:
    """A database migrated up to (not including) 0007, with a branched conversation."""
    db = connect(path)
    MIGRATIONS.apply(db, stop_before="0007_tools")
    rows = [
        ("u1", None, "user", "Which planets have rings?", "complete"),
        ("a1", "u1", "assistant", "Saturn, Jupiter, Uranus and Neptune.", "complete"),
        ("a2", "u1", "assistant", "Saturn mostly.", "complete"),
        ("u2", "a2", "user", "And moons?", "complete"),
        ("a3", "u2", "assistant", "half-written ring", "streaming"),
    ]
    db.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at, active_leaf_id) "
        "VALUES ('c1', 'Astronomy rings', '2026-01-01T00:00:00.000000Z', "
        "'2026-01-01T00:00:00.000000Z', NULL)"
    )
    for index, (mid, parent, role, content, status) in enumerate(rows):
        db.execute(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, status, "
            "created_at) VALUES (?, 'c1', ?, ?, ?, ?, ?)",
            [mid, parent, role, content, status, f"2026-01-01T00:00:0{index}.000000Z"],
        )
    db.execute("UPDATE conversations SET active_leaf_id = 'a3' WHERE id = 'c1'")
    db.close()
    return {"cid": "c1", "leaf": "a3"}


def test_migration_keeps_messages_tree_leaf_and_search(tmp_path: Path) -> None:
    path = tmp_path / "chatdesk.db"
    before = database_before_tools(path)
    with Store(path) as store:
        assert store.backup_path is not None
        conversation = store.get_conversation(before["cid"])
        assert conversation.active_leaf_id == "a3"
        assert [m.id for m in store.active_path("c1")] == ["u1", "a2", "u2", "a3"]
        assert len(store.messages("c1")) == 5
        assert {h.message_id for h in store.search("rings")} == {None, "u1"}
        assert store.get_message("a3").status == "interrupted"  # its writer is gone
        assert [h.message_id for h in store.search("written")] == ["a3"]


def test_tool_role_and_calls_round_trip(tmp_path: Path) -> None:
    database_before_tools(tmp_path / "chatdesk.db")
    calls = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "calculator", "arguments": {"expression": "2+2"}},
        }
    ]
    with Store(tmp_path / "chatdesk.db") as store:
        asked = store.append_message("c1", "assistant", "", tool_calls=calls)
        answer = store.append_message("c1", "tool", "4", tool_call_id="call_1")
    with Store(tmp_path / "chatdesk.db") as store:
        assert store.get_message(asked.id).tool_calls == calls
        assert store.get_message(answer.id).role == "tool"
        assert store.get_message(answer.id).tool_call_id == "call_1"
        with pytest.raises(InvalidValueError):
            store.append_message("c1", "robot", "no")


def test_foreign_keys_and_triggers_still_act_after_the_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "chatdesk.db"
    database_before_tools(path)
    with Store(path) as store:
        store.delete_message("a2")  # cascades to u2, a3
        assert [m.id for m in store.messages("c1")] == ["u1", "a1"]
        store.delete_conversation("c1")
        assert store.count_messages() == 0
    conn = sqlite3.connect(path)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {"messages_fts_insert", "messages_fts_delete", "messages_fts_update"} <= names
        assert {"messages_by_conversation", "messages_by_parent", "tool_audit"} <= names
        assert "messages_new" not in names
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_audit_log_records_and_lists_newest_first(tmp_path: Path) -> None:
    with Store(tmp_path / "chatdesk.db") as store:
        store.record_tool_call(
            tool="calculator",
            source="built-in",
            arguments={"e": "1+1"},
            approval="always allowed",
            result="2",
            duration_ms=1.5,
        )
        store.record_tool_call(
            tool="python",
            source="built-in",
            arguments={"code": "x"},
            approval="denied",
            error="denied by the user",
        )
        log = store.tool_audit()
        assert [(e.tool, e.approval) for e in log] == [
            ("python", "denied"),
            ("calculator", "always allowed"),
        ]
        assert log[1].result == "2"
        assert log[0].error == "denied by the user"
