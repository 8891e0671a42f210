"""A database locked by another process, and one in a read-only place (issue 10, items 8-9)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.store import ReadOnlyError, Store, StoreBusyError, base, database


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waits of a fraction of a second instead of seconds."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(base, "BUSY_RETRY_S", 0.6)


def lock(db_path: Path) -> sqlite3.Connection:
    """Another connection holding the write lock (as a long import does)."""
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_write_waits_for_the_lock_and_then_succeeds(db_path: Path, short_waits: None) -> None:
    with Store(db_path) as store:
        chat = store.create_conversation("c")
        holder = lock(db_path)
        threading.Timer(0.3, holder.commit).start()  # released while the write retries
        message = store.append_message(chat.id, "user", "saved after waiting")
        assert store.get_message(message.id).content == "saved after waiting"
        holder.close()


def test_a_write_locked_out_for_too_long_says_so(db_path: Path, short_waits: None) -> None:
    with Store(db_path) as store:
        chat = store.create_conversation("c")
        holder = lock(db_path)
        with pytest.raises(StoreBusyError, match="locked by another ChatDesk process"):
            store.append_message(chat.id, "user", "hello")
        holder.rollback()
        holder.close()
        store.append_message(chat.id, "user", "hello")  # and works once the lock is gone
        assert [m.content for m in store.messages(chat.id)] == ["hello"]


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder on a file system mounted read-only (root: a tmpfs; else chmod)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)],
        capture_output=True, check=False,
    ).returncode == 0  # fmt: skip
    yield folder
    if mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def make_read_only(folder: Path) -> None:
    if subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=False).returncode:
        (folder / "chatdesk.db").chmod(0o444)
        folder.chmod(0o555)
        if shutil.os.access(folder, shutil.os.W_OK):  # type: ignore[attr-defined]
            pytest.skip("cannot make a read-only folder here")


def test_a_read_only_database_reads_and_refuses_writes_clearly(read_only_folder: Path) -> None:
    db_path = read_only_folder / "chatdesk.db"
    with Store(db_path) as store:
        chat = store.create_conversation("Kept")
        store.append_message(chat.id, "user", "readable words")
    make_read_only(read_only_folder)
    with Store(db_path) as store:
        assert store.read_only
        assert [c.title for c in store.list_conversations()] == ["Kept"]
        assert [m.content for m in store.messages(chat.id)] == ["readable words"]
        assert [h.conversation_id for h in store.search("readable")] == [chat.id]
        with pytest.raises(ReadOnlyError, match=r"read-only"):
            store.create_conversation("new")
