"""The schema, as named append-only migrations (sqlite-utils ``Migrations``).

Never edit or reorder a migration that has shipped: add a new one at the end. Each runs in
its own transaction together with the record of it having been applied.

Messages and conversations have an integer ``seq`` rowid (stable across VACUUM) that the
external-content FTS5 tables point at, and a text ``id`` (uuid4 hex) that the API uses.
A message is indexed for search once its status is no longer ``streaming``, so the many
small updates of a reply being generated never touch the full-text index.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "chatdesk"
MIGRATIONS = Migrations(MIGRATION_SET)
TOKENIZER = "unicode61 remove_diacritics 2"
FIRST_PREFIXES = "2 3"  # as 0002 shipped to the other branches; never change it
PREFIXES = "2 3 4 5"  # prefix indexes (0004): search-as-you-type on 2-5 letters stays fast


def run_statements(db: Database, *statements: str) -> None:
    """Execute statements one by one (``executescript`` would commit the open transaction)."""
    for statement in statements:
        db.execute(statement)


@MIGRATIONS(name="0001_conversations_and_messages")
def create_conversations_and_messages(db: Database) -> None:
    """Conversations, and messages forming a tree inside each conversation."""
    run_statements(
        db,
        """CREATE TABLE conversations (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            model TEXT,
            system_prompt TEXT NOT NULL DEFAULT '',
            settings TEXT NOT NULL DEFAULT '{}',
            pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
            active_leaf_id TEXT REFERENCES messages(id) ON DELETE SET NULL
        )""",
        """CREATE TABLE messages (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id TEXT REFERENCES messages(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'streaming', 'interrupted', 'error')),
            created_at TEXT NOT NULL,
            model TEXT,
            settings TEXT NOT NULL DEFAULT '{}',
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            time_to_first_token_ms REAL,
            tokens_per_second REAL,
            finish_reason TEXT
        )""",
        "CREATE INDEX conversations_listing ON conversations (pinned, updated_at)",
        "CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at)",
        "CREATE INDEX messages_by_parent ON messages (parent_id, created_at)",
    )


@MIGRATIONS(name="0002_full_text_search")
def create_full_text_search(db: Database) -> None:
    """FTS5 indexes over conversation titles and finished message content, kept by triggers."""
    run_statements(
        db,
        f"""CREATE VIRTUAL TABLE conversations_fts USING fts5(
            title, content='conversations', content_rowid='seq',
            tokenize='{TOKENIZER}', prefix='{FIRST_PREFIXES}')""",
        """CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
            INSERT INTO conversations_fts (rowid, title) VALUES (new.seq, new.title);
        END""",
        """CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
            INSERT INTO conversations_fts (conversations_fts, rowid, title)
                VALUES ('delete', old.seq, old.title);
        END""",
        """CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
            INSERT INTO conversations_fts (conversations_fts, rowid, title)
                VALUES ('delete', old.seq, old.title);
            INSERT INTO conversations_fts (rowid, title) VALUES (new.seq, new.title);
        END""",
        f"""CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, content='messages', content_rowid='seq',
            tokenize='{TOKENIZER}', prefix='{FIRST_PREFIXES}')""",
        """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN new.status != 'streaming' BEGIN
            INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
        END""",
        """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
        WHEN old.status != 'streaming' BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, content)
                VALUES ('delete', old.seq, old.content);
        END""",
        """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages
        WHEN old.status != 'streaming' OR new.status != 'streaming' BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, content)
                SELECT 'delete', old.seq, old.content WHERE old.status != 'streaming';
            INSERT INTO messages_fts (rowid, content)
                SELECT new.seq, new.content WHERE new.status != 'streaming';
        END""",
        "INSERT INTO conversations_fts (rowid, title) SELECT seq, title FROM conversations",
        """INSERT INTO messages_fts (rowid, content)
            SELECT seq, content FROM messages WHERE status != 'streaming'""",
    )


@MIGRATIONS(name="0003_app_settings")
def create_app_settings(db: Database) -> None:
    """Application-wide settings: one JSON value per key."""
    db.execute("CREATE TABLE app_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@MIGRATIONS(name="0004_longer_search_prefixes")
def rebuild_search_with_longer_prefixes(db: Database) -> None:
    """Recreate both FTS5 tables with 2-5 letter prefix indexes (the triggers stay)."""
    run_statements(
        db,
        "DROP TABLE conversations_fts",
        f"""CREATE VIRTUAL TABLE conversations_fts USING fts5(
            title, content='conversations', content_rowid='seq',
            tokenize='{TOKENIZER}', prefix='{PREFIXES}')""",
        "INSERT INTO conversations_fts (rowid, title) SELECT seq, title FROM conversations",
        "DROP TABLE messages_fts",
        f"""CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, content='messages', content_rowid='seq',
            tokenize='{TOKENIZER}', prefix='{PREFIXES}')""",
        """INSERT INTO messages_fts (rowid, content)
            SELECT seq, content FROM messages WHERE status != 'streaming'""",
    )


@MIGRATIONS(name="0005_reply_metadata_and_model_identity")
def add_reply_metadata_and_model_identity(db: Database) -> None:
    """Reply metadata columns and model identity; the old app_settings blobs moved into them.

    ``n_ctx``, ``dropped_messages`` and ``error`` describe how a reply's prompt fitted and why
    it failed (formerly the ``chat.context_notes`` / ``chat.reply_errors`` settings); ``extra``
    holds per-reply data added by features (JSON); ``model_identity`` (JSON: kind, path or id,
    name, size, sha256) says which model wrote a reply or a conversation.
    """
    run_statements(
        db,
        "ALTER TABLE messages ADD COLUMN n_ctx INTEGER",
        "ALTER TABLE messages ADD COLUMN dropped_messages INTEGER",
        "ALTER TABLE messages ADD COLUMN error TEXT",
        "ALTER TABLE messages ADD COLUMN extra TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE messages ADD COLUMN model_identity TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE conversations ADD COLUMN model_identity TEXT NOT NULL DEFAULT '{}'",
    )
    move_blob_settings(db)


def move_blob_settings(db: Database) -> None:
    """Copy chat.context_notes and chat.reply_errors into the message rows, then drop them."""
    notes = read_setting(db, "chat.context_notes")
    for mid, values in notes.items():
        if (
            isinstance(values, list)
            and len(values) == 3
            and all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values)
        ):
            db.execute(
                "UPDATE messages SET prompt_tokens = coalesce(prompt_tokens, ?), n_ctx = ?, "
                "dropped_messages = ? WHERE id = ?",
                [values[0], values[1], values[2], mid],
            )
    for mid, text in read_setting(db, "chat.reply_errors").items():
        if isinstance(text, str):
            db.execute("UPDATE messages SET error = ? WHERE id = ?", [text, mid])
    db.execute("DELETE FROM app_settings WHERE key IN ('chat.context_notes', 'chat.reply_errors')")


def read_setting(db: Database, key: str) -> dict[str, Any]:
    """A JSON object app setting as it was stored (an empty dict when absent or not a dict)."""
    row = db.execute("SELECT value FROM app_settings WHERE key = ?", [key]).fetchone()
    try:
        value = json.loads(row[0]) if row else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def known_migration_names(migrations: Migrations = MIGRATIONS) -> list[str]:
    """Names of every migration this ChatDesk knows, in order."""
    return [migration.name for migration in migrations.pending(Database(memory=True))]


@MIGRATIONS(name="0006_writer_process")
def add_writer_process(db: Database) -> None:
    """The process id of whoever is writing a ``streaming`` reply (NULL for other rows), so
    that a start recovers only replies whose writer is gone (issue 10)."""
    db.execute("ALTER TABLE messages ADD COLUMN writer_pid INTEGER")
