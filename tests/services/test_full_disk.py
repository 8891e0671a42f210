"""A full disk during a reply, on a real (small, filled) file system (issue 10, item 4).

Before the fix the final save failed with a traceback, the row stayed ``streaming`` with
the text of the last save, and the window showed that partial text as a normal reply.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from chatdesk.store import DiskFullError, Store
from tests.support.full_disk import fill, small_filesystem
from tests.support.scripted_engine import ScriptedEngine


def test_store_says_the_disk_is_full_and_where(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "home") as home, Store(home / "chatdesk.db") as store:
        chat = store.create_conversation("c")
        filler = fill(home)
        with pytest.raises(DiskFullError, match=f"disk is full: cannot save to {home}"):
            store.append_message(chat.id, "user", "x" * 100_000)
        filler.unlink()
        store.append_message(chat.id, "user", "fits again")


def test_a_reply_the_full_disk_refused_is_kept_and_saved_when_space_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_gguf: Path
) -> None:
    engine = ScriptedEngine("a long reply with many words " * 400, tokens=2000, rate=20_000)
    with small_filesystem(tmp_path / "home") as home:
        monkeypatch.setenv("CHATDESK_HOME", str(home))
        events = EventQueue()
        app = AppServices.create(client_factory=lambda: engine)  # type: ignore[arg-type,return-value]
        app.set_dispatch(events)
        app.engine.load(str(fake_gguf))
        assert events.run_until(lambda: app.engine.ready, timeout=5)
        conversation = app.turns.new_conversation()
        turn = app.turns.send(conversation.id, "hello")
        filler = fill(home)
        assert events.run_until(lambda: turn.finished, timeout=30)
        assert turn.save_error is not None
        assert "disk is full" in turn.save_error
        assert str(home / "chatdesk.db") in turn.save_error
        full_text = "".join(engine.token_list())
        assert turn.text == full_text  # kept in memory
        stored = app.store.get_message(turn.message_id)
        assert stored.status != "complete"  # never a partial reply marked as complete
        assert not app.turns.retry_unsaved()  # still full
        filler.unlink()
        assert app.turns.retry_unsaved()
        stored = app.store.get_message(turn.message_id)
        assert (stored.status, stored.content) == ("complete", full_text)
        assert turn.save_error is None
        app.close()
