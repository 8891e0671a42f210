"""Attached document collections as rows (0010_issue19_attached_collections): the old
app-settings blob migrated from a database made by the previous schema, and the rows
deleted with their conversation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatdesk.store import NotFoundError, Store
from chatdesk.store.database import connect
from chatdesk.store.schema import MIGRATIONS

MIGRATION = "0010_issue19_attached_collections"
STAMP = "2026-01-01T00:00:00.000000Z"


def database_before_rows(path: Path, blob: object) -> None:
    """A database of the previous schema: two conversations and the blob as it was kept."""
    db = connect(path)
    MIGRATIONS.apply(db, stop_before=MIGRATION)
    for cid in ("c1", "c2"):
        db.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
            [cid, f"chat {cid}", STAMP, STAMP],
        )
    db.execute(
        "INSERT INTO app_settings (key, value) VALUES ('documents.attached', ?)",
        [json.dumps(blob)],
    )
    db.execute("INSERT INTO app_settings (key, value) VALUES ('other.key', '7')")
    db.close()


def test_the_blob_becomes_rows_and_goes(tmp_path: Path) -> None:
    path = tmp_path / "chatdesk.db"
    blob = {
        "c1": ["Reports", "Manuals", "Reports"],  # a duplicate, kept once
        "c2": ["Garden", 5, ""],  # junk names are dropped
        "gone": ["Orphan"],  # a conversation deleted before: nothing to attach to
    }
    database_before_rows(path, blob)
    with Store(path) as store:
        assert store.backup_path is not None  # migrated after a copy was set aside
        assert store.attached_collections("c1") == ["Reports", "Manuals"]
        assert store.attached_collections("c2") == ["Garden"]
        assert store.attached_collections("gone") == []
        assert store.get_setting("documents.attached") is None
        assert store.get_setting("other.key") == 7  # other settings untouched


def test_a_blob_of_the_wrong_shape_migrates_to_nothing(tmp_path: Path) -> None:
    path = tmp_path / "chatdesk.db"
    database_before_rows(path, {"c1": "Reports", "c2": None})
    with Store(path) as store:
        assert store.attached_collections("c1") == []
        assert store.get_setting("documents.attached") is None


def test_attachments_are_deleted_with_their_conversation(tmp_path: Path) -> None:
    with Store(tmp_path / "chatdesk.db") as store:
        keep = store.create_conversation(title="keep")
        drop = store.create_conversation(title="drop")
        store.set_attached_collections(keep.id, ["A"])
        store.set_attached_collections(drop.id, ["B", "C"])
        store.delete_conversation(drop.id)
        rows = store._rows("SELECT conversation_id, name FROM attached_collections")
        assert rows == [(keep.id, "A")]
        store.set_attached_collections(keep.id, [])
        assert store.attached_collections(keep.id) == []
        with pytest.raises(NotFoundError):
            store.set_attached_collections(drop.id, ["B"])
