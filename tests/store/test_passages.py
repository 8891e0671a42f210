"""Document passages stored with a reply (migration 0009_documents): saved, read, deleted
with the message, migrated onto a database holding data, exported and imported."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from chatdesk.export.importer import import_text
from chatdesk.export.json_format import export_json
from chatdesk.export.markdown import export_markdown
from chatdesk.store import Store
from chatdesk.store.schema import MIGRATIONS, known_migration_names

PASSAGES = [
    {
        "number": 1,
        "file": "/docs/report.pdf",
        "page": 2,
        "line_start": 1,
        "line_end": 3,
        "score": 0.03,
        "text": "The Velta tunnel is 14.2 kilometres long.",
    },
    {
        "number": 2,
        "file": "/docs/notes.md",
        "page": None,
        "line_start": 4,
        "line_end": 9,
        "score": 0.01,
        "text": "Roses are pruned in ```late``` February.",
    },
]


def reply_with_passages(store: Store) -> tuple[str, str]:
    cid = store.create_conversation("Tunnels").id
    question = store.append_message(cid, "user", "How long is the tunnel?")
    reply = store.append_message(cid, "assistant", "It is 14.2 km long [1].", parent_id=question.id)
    store.save_passages(reply.id, PASSAGES)
    return cid, reply.id


def test_passages_are_saved_read_and_deleted_with_the_reply(db_path: Path) -> None:
    with Store(db_path) as store:
        cid, reply = reply_with_passages(store)
        assert store.passages(reply) == PASSAGES
        assert store.conversation_passages(cid) == {reply: PASSAGES}
        store.delete_message(reply)
        assert store.passages(reply) == []
        count = store._db.execute("SELECT count(*) FROM message_passages").fetchone()[0]
        assert count == 0


def test_migration_onto_a_database_with_rows(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db = Database(db_path)
    MIGRATIONS.apply(db, stop_before="0009_documents")
    db.close()
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "INSERT INTO conversations (id, title, created_at, updated_at)"
        " VALUES ('c1', 'Old', 'a', 'b');"
        "INSERT INTO messages (id, conversation_id, role, content, created_at)"
        " VALUES ('m1', 'c1', 'assistant', 'old reply', 'a');"
    )
    conn.commit()
    conn.close()
    with Store(db_path) as store:
        assert store.backup_path is not None
        assert [m.content for m in store.messages("c1")] == ["old reply"]
        store.save_passages("m1", PASSAGES[:1])
        assert store.passages("m1") == PASSAGES[:1]
    assert "0009_documents" in known_migration_names()


def test_passages_export_to_json_and_markdown_and_import_back(
    db_path: Path, tmp_path: Path
) -> None:
    with Store(db_path) as store:
        cid, _reply = reply_with_passages(store)
        exported = export_json(store, [cid])
        markdown = export_markdown(store, cid)
    record = json.loads(exported)["conversations"][0]["messages"]
    assert "passages" not in record[0]
    assert record[1]["passages"] == PASSAGES
    assert "### Sources" in markdown
    assert "[1] report.pdf, page 2 (/docs/report.pdf)" in markdown
    assert "[2] notes.md, lines 4-9" in markdown
    assert "\n> Roses are pruned in ```late``` February.\n" in markdown  # quoted, as text
    with Store(tmp_path / "other.db") as other:
        result = import_text(other, exported)
        assert export_json(other, result.conversation_ids) == exported
