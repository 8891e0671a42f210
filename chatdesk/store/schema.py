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

from chatdesk.store.unspaced import SPACED_FUNCTION as SPACED

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


@MIGRATIONS(name="0006_writer_process")
def add_writer_process(db: Database) -> None:
    """The process id of whoever is writing a ``streaming`` reply (NULL for other rows), so
    that a start recovers only replies whose writer is gone (issue 10)."""
    db.execute("ALTER TABLE messages ADD COLUMN writer_pid INTEGER")


OLD_ROLE_CHECK = "CHECK (role IN ('system', 'user', 'assistant'))"
TOOL_ROLE_CHECK = "CHECK (role IN ('system', 'user', 'assistant', 'tool'))"
TOOL_AUDIT = """CREATE TABLE IF NOT EXISTS tool_audit (
    seq INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    conversation_id TEXT,
    tool TEXT NOT NULL,
    source TEXT NOT NULL,
    arguments TEXT NOT NULL,
    result TEXT,
    error TEXT,
    duration_ms REAL,
    approval TEXT NOT NULL
)"""


@MIGRATIONS(name="0007_tools", transactional=False)
def add_tools(db: Database) -> None:
    """The ``tool`` role, an assistant message's ``tool_calls`` (JSON text) and a tool
    message's ``tool_call_id``; the ``tool_audit`` log of every tool call.

    A CHECK constraint only changes by rebuilding the table. Inside a transaction with
    foreign keys on, dropping the old ``messages`` would run its foreign-key actions (every
    conversation's ``active_leaf_id`` set to NULL, cascades into any table that references
    messages), so this migration runs outside sqlite-utils' transaction and follows
    SQLite's documented procedure: foreign keys off, one transaction that copies the rows
    (same ``seq``, so the external-content FTS index stays valid) into a table made from
    the current definition (whatever columns earlier migrations added) with the wider
    CHECK, drops the old table, renames the new one, recreates the old table's indexes
    and triggers from their stored SQL, and commits only if ``foreign_key_check`` is clean.
    It is idempotent, since its record is written after that commit.
    """
    db.execute("PRAGMA foreign_keys = OFF")
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            _rebuild_messages_for_tools(db)
            db.execute(TOOL_AUDIT)
            db.execute("CREATE INDEX IF NOT EXISTS tool_audit_by_time ON tool_audit (started_at)")
            if db.execute("PRAGMA foreign_key_check").fetchall():
                raise RuntimeError("foreign keys do not hold after rebuilding messages")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    finally:
        db.execute("PRAGMA foreign_keys = ON")


def _rebuild_messages_for_tools(db: Database) -> None:
    table_sql = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'"
    ).fetchone()[0]
    if TOOL_ROLE_CHECK in table_sql:
        return  # applied before its record could be written
    if OLD_ROLE_CHECK not in table_sql:
        raise RuntimeError("the messages table's role constraint is not the expected one")
    columns = ", ".join(row[1] for row in db.execute("PRAGMA table_info(messages)").fetchall())
    extras = db.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'messages' "
        "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name"
    ).fetchall()
    body = table_sql.replace(OLD_ROLE_CHECK, TOOL_ROLE_CHECK).rstrip().removesuffix(")")
    new_sql = body.replace("CREATE TABLE messages", "CREATE TABLE messages_new", 1)
    run_statements(
        db,
        new_sql.rstrip() + ",\n    tool_calls TEXT,\n    tool_call_id TEXT\n)",
        f"INSERT INTO messages_new ({columns}) SELECT {columns} FROM messages",
        "DROP TABLE messages",
        "ALTER TABLE messages_new RENAME TO messages",
        *(row[0] for row in extras),
    )


@MIGRATIONS(name="0008_token_probabilities_and_examples")
def add_token_probabilities_and_examples(db: Database) -> None:
    """Token probabilities per reply (one packed BLOB, see ``chatdesk.probabilities.codec``,
    deleted with its message) and a conversation's few-shot examples (JSON list of
    ``{"user": ..., "assistant": ...}`` pairs)."""
    run_statements(
        db,
        """CREATE TABLE token_probabilities (
            message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
            token_count INTEGER NOT NULL,
            data BLOB NOT NULL
        )""",
        "ALTER TABLE conversations ADD COLUMN examples TEXT NOT NULL DEFAULT '[]'",
    )


@MIGRATIONS(name="0009_documents")
def create_message_passages(db: Database) -> None:
    """The document passages a reply was given (numbered as cited), deleted with the reply.

    The document index itself lives in ``documents.db``; only what a reply cited is kept
    here, so the answer can be checked later even after the index or the files changed.
    """
    db.execute(
        """CREATE TABLE message_passages (
            message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            number INTEGER NOT NULL CHECK (number >= 1),
            file TEXT NOT NULL,
            page INTEGER,
            line_start INTEGER NOT NULL,
            line_end INTEGER NOT NULL,
            score REAL NOT NULL DEFAULT 0,
            text TEXT NOT NULL,
            PRIMARY KEY (message_id, number)
        ) WITHOUT ROWID"""
    )


ATTACHED_SETTING = "documents.attached"  # where 0010 found the attachments before


@MIGRATIONS(name="0010_issue19_attached_collections")
def create_attached_collections(db: Database) -> None:
    """The document collections attached to a conversation, as rows deleted with it.

    They were a JSON object in the app settings (``documents.attached``: conversation id ->
    names) that nobody cleaned when a conversation was deleted. Entries of conversations that
    no longer exist, and names that are not strings, are dropped; the setting goes.
    """
    db.execute(
        """CREATE TABLE attached_collections (
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (conversation_id, name)
        ) WITHOUT ROWID"""
    )
    for cid, names in read_setting(db, ATTACHED_SETTING).items():
        given = names if isinstance(names, list) else []
        clean = dict.fromkeys(n for n in given if isinstance(n, str) and n.strip())
        for position, name in enumerate(clean):
            db.execute(
                "INSERT INTO attached_collections (conversation_id, position, name) "
                "SELECT id, ?, ? FROM conversations WHERE id = ?",
                [position, name, cid],
            )
    db.execute("DELETE FROM app_settings WHERE key = ?", [ATTACHED_SETTING])


@MIGRATIONS(name="0011_issue25_speculative_figures")
def add_speculative_figures(db: Database) -> None:
    """How many tokens speculative decoding drafted for a reply and how many the model kept
    (NULL for replies written before, or by an engine that does not draft)."""
    run_statements(
        db,
        "ALTER TABLE messages ADD COLUMN drafted_tokens INTEGER",
        "ALTER TABLE messages ADD COLUMN accepted_tokens INTEGER",
    )


SPACED_TRIGGERS = (
    "DROP TRIGGER conversations_fts_insert",
    "DROP TRIGGER conversations_fts_delete",
    "DROP TRIGGER conversations_fts_update",
    "DROP TRIGGER messages_fts_insert",
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_update",
    f"""CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
        INSERT INTO conversations_fts (rowid, title) VALUES (new.seq, {SPACED}(new.title));
    END""",
    f"""CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
        INSERT INTO conversations_fts (conversations_fts, rowid, title)
            VALUES ('delete', old.seq, {SPACED}(old.title));
    END""",
    f"""CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
        INSERT INTO conversations_fts (conversations_fts, rowid, title)
            VALUES ('delete', old.seq, {SPACED}(old.title));
        INSERT INTO conversations_fts (rowid, title) VALUES (new.seq, {SPACED}(new.title));
    END""",
    f"""CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
    WHEN new.status != 'streaming' BEGIN
        INSERT INTO messages_fts (rowid, content) VALUES (new.seq, {SPACED}(new.content));
    END""",
    f"""CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.status != 'streaming' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
            VALUES ('delete', old.seq, {SPACED}(old.content));
    END""",
    f"""CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages
    WHEN old.status != 'streaming' OR new.status != 'streaming' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
            SELECT 'delete', old.seq, {SPACED}(old.content) WHERE old.status != 'streaming';
        INSERT INTO messages_fts (rowid, content)
            SELECT new.seq, {SPACED}(new.content) WHERE new.status != 'streaming';
    END""",
    "INSERT INTO conversations_fts (conversations_fts) VALUES ('delete-all')",
    f"INSERT INTO conversations_fts (rowid, title) SELECT seq, {SPACED}(title) FROM conversations",
    "INSERT INTO messages_fts (messages_fts) VALUES ('delete-all')",
    f"""INSERT INTO messages_fts (rowid, content)
        SELECT seq, {SPACED}(content) FROM messages WHERE status != 'streaming'""",
)


@MIGRATIONS(name="0012_unspaced_scripts_search")
def index_unspaced_scripts(db: Database) -> None:
    """Search inside Chinese, Japanese and Korean text: the triggers index each of those
    characters as a token of its own (``chatdesk.store.unspaced``), and both indexes are
    filled again that way."""
    run_statements(db, *SPACED_TRIGGERS)


def known_migration_names(migrations: Migrations = MIGRATIONS) -> list[str]:
    """Names of every migration this ChatDesk knows, in order."""
    return [migration.name for migration in migrations.pending(Database(memory=True))]
