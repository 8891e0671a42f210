"""Opening a database: migrations from empty, re-runs, failures, backups, newer schemas."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from chatdesk import paths
from chatdesk.store import MigrationError, SchemaTooNewError, Store
from chatdesk.store.errors import DatabaseFileError
from chatdesk.store.schema import MIGRATION_SET, MIGRATIONS, known_migration_names


def applied_names(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id").fetchall()
    finally:
        conn.close()
    return [row[0] for row in rows]


def table_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fresh_database_gets_every_migration(db_path: Path) -> None:
    Store(db_path).close()
    assert applied_names(db_path) == known_migration_names()
    assert {"conversations", "messages", "app_settings", "messages_fts"} <= table_names(db_path)


def test_default_location_is_under_chatdesk_home(chatdesk_home: Path) -> None:
    store = Store()
    try:
        assert store.path == chatdesk_home / "chatdesk.db"
        assert store.path == paths.database_path()
        assert store.path.exists()
    finally:
        store.close()


def test_wal_and_foreign_keys_are_on(db_path: Path) -> None:
    store = Store(db_path)
    try:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        store.close()


def test_reopening_applies_nothing_and_makes_no_backup(db_path: Path) -> None:
    Store(db_path).close()
    store = Store(db_path)
    store.close()
    assert store.backup_path is None
    assert applied_names(db_path) == known_migration_names()
    assert list(db_path.parent.glob("*.bak-*")) == []


def test_data_survives_reopening(db_path: Path) -> None:
    with Store(db_path) as store:
        cid = store.create_conversation("Kept").id
        store.append_message(cid, "user", "still here")
    with Store(db_path) as store:
        assert [m.content for m in store.active_path(cid)] == ["still here"]


def old_database(db_path: Path, migrations_applied: int) -> None:
    """A database as an older ChatDesk left it: only the first migrations applied."""
    stop = known_migration_names()[migrations_applied]
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(db_path)
    MIGRATIONS.apply(db, stop_before=stop)
    db.close()


def test_pending_migrations_copy_the_database_aside_first(db_path: Path) -> None:
    old_database(db_path, 1)
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "INSERT INTO conversations (id, title, created_at, updated_at)"
        " VALUES ('c1', 'Old', 'a', 'b');"
        "INSERT INTO messages (id, conversation_id, role, content, created_at)"
        " VALUES ('m1', 'c1', 'user', 'ancient words', 'a');"
    )
    conn.commit()
    conn.close()
    with Store(db_path) as store:
        backup = store.backup_path
        assert store.get_conversation("c1").title == "Old"
        # text written before search existed is indexed by the migration that adds it
        assert [hit.conversation_id for hit in store.search("old")] == ["c1"]
        assert [hit.message_id for hit in store.search("ancient")] == ["m1"]
    assert backup is not None
    assert backup.name.startswith("chatdesk.db.bak-v1-")
    assert applied_names(backup) == known_migration_names()[:1]
    assert "messages_fts" not in table_names(backup)
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT content FROM messages").fetchall() == [("ancient words",)]
    conn.close()
    assert applied_names(db_path) == known_migration_names()


def failing_migrations() -> Migrations:
    """ChatDesk's migrations plus one that creates a table and then fails."""
    migrations = Migrations(MIGRATION_SET)
    for name in known_migration_names():
        migrations(name=name)(lambda db, name=name: MIGRATIONS_BY_NAME[name](db))

    @migrations(name="9999_broken")
    def broken(db: Database) -> None:
        db.execute("CREATE TABLE half_done (x INTEGER)")
        db.execute("INSERT INTO half_done VALUES (1)")
        raise RuntimeError("disk on fire")

    return migrations


MIGRATIONS_BY_NAME = {m.name: m.fn for m in MIGRATIONS.pending(Database(memory=True))}


def test_failing_migration_rolls_back_and_raises(db_path: Path) -> None:
    Store(db_path).close()
    with pytest.raises(MigrationError, match="disk on fire"):
        Store(db_path, migrations=failing_migrations())
    assert "half_done" not in table_names(db_path)
    assert applied_names(db_path) == known_migration_names()
    with Store(db_path) as store:  # the released ChatDesk still opens it
        assert store.count_conversations() == 0


def test_failing_first_migration_leaves_an_empty_database(db_path: Path) -> None:
    migrations = Migrations(MIGRATION_SET)

    @migrations(name="0001_broken")
    def broken(db: Database) -> None:
        db.execute("CREATE TABLE conversations (x INTEGER)")
        raise RuntimeError("boom")

    with pytest.raises(MigrationError):
        Store(db_path, migrations=migrations)
    assert "conversations" not in table_names(db_path)
    Store(db_path).close()
    assert applied_names(db_path) == known_migration_names()


def newer_database(db_path: Path) -> None:
    """A database written by a future ChatDesk with one more migration."""
    Store(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
        "VALUES ('chatdesk', '0099_from_the_future', '2030-01-01')"
    )
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.commit()
    conn.close()


def test_newer_schema_is_refused_and_left_unchanged(db_path: Path) -> None:
    newer_database(db_path)
    before = digest(db_path)
    files_before = sorted(p.name for p in db_path.parent.iterdir())
    with pytest.raises(SchemaTooNewError, match=r"newer version of ChatDesk.*0099_from_the_future"):
        Store(db_path)
    assert digest(db_path) == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == files_before


def test_higher_schema_version_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 42")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="schema version 42"):
        Store(db_path)


def test_a_file_that_is_not_sqlite_is_refused_untouched(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not a database at all" * 100)
    before = digest(db_path)
    with pytest.raises(DatabaseFileError, match="cannot use database"):
        Store(db_path)
    assert digest(db_path) == before


def test_a_failed_backup_stops_the_upgrade(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_database(db_path, 1)
    taken = db_path.parent / "blocked"
    taken.mkdir()
    monkeypatch.setattr(
        "chatdesk.store.database.backup_path", lambda path, applied: taken / "no" / "such"
    )
    with pytest.raises(DatabaseFileError, match=r"cannot copy .* before upgrading"):
        Store(db_path)
    assert applied_names(db_path) == known_migration_names()[:1]


def test_an_unusable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(DatabaseFileError, match="cannot open database"):
        Store(blocker / "sub" / "chatdesk.db")


def test_another_process_migrating_at_the_same_time_is_fine(db_path: Path) -> None:
    """Two ChatDesk processes opening a new database at once: the slower one gives way."""
    racing = Migrations(MIGRATION_SET)
    names = known_migration_names()

    def first_after_a_rival(db: Database) -> None:
        Store(db_path).close()  # the rival applies everything first
        MIGRATIONS_BY_NAME[names[0]](db)  # -> "table conversations already exists"

    racing(name=names[0])(first_after_a_rival)
    for name in names[1:]:
        racing(name=name)(MIGRATIONS_BY_NAME[name])
    with Store(db_path, migrations=racing) as store:
        assert store.count_conversations() == 0
    assert applied_names(db_path) == names


def test_upgrade_rebuilds_search_with_longer_prefixes(db_path: Path) -> None:
    old_database(db_path, 3)
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "INSERT INTO conversations (id, title, created_at, updated_at)"
        " VALUES ('c1', 'Quantisation notes', 'a', 'b');"
        "INSERT INTO messages (id, conversation_id, role, content, created_at, status)"
        " VALUES ('m1', 'c1', 'user', 'perplexity numbers', 'a', 'complete'),"
        " ('m2', 'c1', 'assistant', 'unfinished perplexity', 'a', 'streaming');"
    )
    conn.close()
    with Store(db_path) as store:
        assert store.backup_path is not None
        assert store.backup_path.name.startswith("chatdesk.db.bak-v3-")
        assert store.get_message("m2").status == "interrupted"  # any start recovers it
        assert {h.message_id for h in store.search("perpl")} == {"m1", "m2"}
        assert [h.conversation_id for h in store.search("quant")] == ["c1"]
        schema = store._db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'messages_fts'"
        ).fetchone()[0]
        assert "prefix='2 3 4 5'" in schema
        store.update_message("m2", status="complete")
        assert {h.message_id for h in store.search("perplexity")} == {"m1", "m2"}


def test_writer_process_migration_keeps_rows_and_recovers_old_streaming_replies(
    db_path: Path,
) -> None:
    old_database(db_path, known_migration_names().index("0006_writer_process"))
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "INSERT INTO conversations (id, title, created_at, updated_at)"
        " VALUES ('c1', 'Notes', 'a', 'b');"
        "INSERT INTO messages (id, conversation_id, role, content, created_at, status)"
        " VALUES ('m1', 'c1', 'user', 'question', 'a', 'complete'),"
        " ('m2', 'c1', 'assistant', 'half an answ', 'a', 'streaming');"
    )
    conn.close()
    with Store(db_path) as store:
        assert "0006_writer_process" in applied_names(db_path)
        assert [m.content for m in store.messages("c1")] == ["question", "half an answ"]
        assert store.get_message("m2").status == "interrupted"  # its writer is long gone
        columns = [row[1] for row in store._db.execute("PRAGMA table_info(messages)")]
        assert "writer_pid" in columns


def test_upgrade_moves_reply_notes_and_errors_into_the_rows(db_path: Path) -> None:
    old_database(db_path, 4)
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "INSERT INTO conversations (id, title, created_at, updated_at, model)"
        " VALUES ('c1', 'Old chat', 'a', 'b', '/models/old.gguf');"
        "INSERT INTO messages (id, conversation_id, role, content, created_at, status,"
        " prompt_tokens) VALUES ('m1', 'c1', 'user', 'hi', 'a', 'complete', NULL),"
        " ('m2', 'c1', 'assistant', 'hello', 'a', 'complete', NULL),"
        " ('m3', 'c1', 'assistant', '', 'a', 'error', NULL);"
        """INSERT INTO app_settings (key, value) VALUES
           ('chat.context_notes', '{"m2": [812, 2048, 3], "gone": [1, 2, 3], "m1": "junk"}'),
           ('chat.reply_errors', '{"m3": "the prompt does not fit", "gone": "x"}'),
           ('theme', '"dark"');"""
    )
    conn.close()
    with Store(db_path) as store:
        assert store.backup_path is not None
        reply = store.get_message("m2")
        assert (reply.prompt_tokens, reply.n_ctx, reply.dropped_messages) == (812, 2048, 3)
        assert reply.error is None
        failed = store.get_message("m3")
        assert failed.error == "the prompt does not fit"
        assert failed.n_ctx is None
        assert store.get_message("m1").n_ctx is None
        assert store.get_message("m1").extra == {}
        assert store.get_conversation("c1").model_identity == {}
        assert store.get_setting("chat.context_notes") is None
        assert store.get_setting("chat.reply_errors") is None
        assert store.get_setting("theme") == "dark"
    assert applied_names(db_path) == known_migration_names()


def test_upgrade_indexes_chinese_japanese_and_korean_characters_apart(db_path: Path) -> None:
    """Rows written before 0012 held a Chinese sentence as one token: the upgrade indexes
    them again, and later edits and deletes keep the index in step."""
    old_database(db_path, 11)
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "INSERT INTO conversations (id, title, created_at, updated_at)"
        " VALUES ('c1', '京都旅行', 'a', 'b');"
        "INSERT INTO messages (id, conversation_id, role, content, created_at, status)"
        " VALUES ('m1', 'c1', 'user', '我昨天在灯塔看守人的小屋里喝茶。', 'a', 'complete');"
    )
    assert conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '灯塔*'"
                        ).fetchone()[0] == 0  # fmt: skip
    conn.close()
    with Store(db_path) as store:
        assert store.backup_path is not None
        assert [h.message_id for h in store.search("灯塔看守")] == ["m1"]
        assert [h.conversation_id for h in store.search("旅行")] == ["c1"]
        store.update_message("m1", content="我们在港口等船。")
        assert store.search("灯塔") == []
        assert [h.message_id for h in store.search("港口")] == ["m1"]
        store.delete_conversation("c1")
        assert store.search("港口") == []
