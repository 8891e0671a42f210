"""Messages that once crashed or froze the window: it starts, shows them, stays responsive.

Before the fix, ``"- " * 1000 + "x"`` raised RecursionError in MainWindow.__init__ (at every
start), and a 1 MB one-line reply took about a minute to render. How long rendering takes is
a benchmark figure (tests/benchmarks/bench_gui.py), not asserted here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.message_body import PLAIN_ABOVE, MessageBody
from chatdesk.ui.rendering import MarkdownRenderer
from tests.support.scripted_engine import ScriptedEngine

PATHOLOGICAL = {
    "one-line 1 MB reply": "word " * 200_000,
    "brackets": "[" * 8000 + "a" + "](" * 8000,
    "100 KB of stars": "*" * 100_000,
    "1,000 list markers": "- " * 1000 + "x",
    "10,000 nested list markers": "- " * 10_000 + "x",
    "10,000 nested quotes": "> " * 10_000 + "x",
    "deep indented list": "".join(" " * (2 * n) + "- x\n" for n in range(300)),
}


def wait_drawn(qtbot: QtBot, body: MessageBody) -> None:
    """Until every queued piece of the message is drawn."""
    qtbot.waitUntil(lambda: not body.rendering, timeout=60_000)


def test_window_starts_with_every_pathological_message(
    qtbot: QtBot, make_window: Callable[..., MainWindow]
) -> None:
    from chatdesk.store import Store

    with Store() as store:
        conversation = store.create_conversation(title="Hostile")
        for text in PATHOLOGICAL.values():
            store.append_message(conversation.id, "user", "again")
            store.append_message(conversation.id, "assistant", text)
        store.set_setting("ui.last_conversation", conversation.id)
    window = make_window(ScriptedEngine)
    assert window.conversation_id == conversation.id
    replies = [w for w in window.chat_view.widgets if w.message.role == "assistant"]
    assert len(replies) == len(PATHOLOGICAL)
    for widget, text in zip(replies, PATHOLOGICAL.values(), strict=True):
        wait_drawn(qtbot, widget.body)
        if text.strip("* "):  # a line of stars is a thematic break: no text to show
            assert text.split()[-1][-1] in widget.body.toPlainText()
    huge = replies[0].body
    assert "shown as plain text" in huge.note
    assert huge.toPlainText().count("word") == 200_000  # nothing is left out
    assert "x" in replies[4].body.toPlainText()


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_text_renders_as_markdown_without_error(qtbot: QtBot, name: str) -> None:
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    body.show_markdown(PATHOLOGICAL[name], force=True)
    wait_drawn(qtbot, body)
    assert body.note == ""  # rendered, not a fallback
    assert body.toPlainText().strip() or name == "100 KB of stars"


def test_huge_message_is_plain_until_asked_then_markdown(qtbot: QtBot) -> None:
    text = "Some **bold** words. " * (PLAIN_ABOVE // 20)
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    body.show_markdown(text)
    assert body.rendering  # the rest is drawn in later turns of the event loop
    wait_drawn(qtbot, body)
    assert "**bold**" in body.toPlainText()
    assert "Render as Markdown" in body.toPlainText()
    body.anchorClicked.emit(QUrl("render-markdown:"))
    wait_drawn(qtbot, body)
    assert body.note == ""
    assert "**" not in body.toPlainText()
    assert body.toPlainText().count("bold") == text.count("bold")


@pytest.mark.parametrize("error", [RecursionError("maximum recursion depth"), ValueError("x")])
def test_a_message_that_cannot_be_rendered_is_plain_text_with_a_note(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    renderer = MarkdownRenderer()

    def fail(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(renderer, "render", fail)
    body = MessageBody(renderer)
    qtbot.addWidget(body)
    body.show_markdown("Some *text* <b>kept</b>")
    wait_drawn(qtbot, body)
    assert type(error).__name__ in body.note
    assert "Some *text* <b>kept</b>" in body.toPlainText()
    for end in (5, 12, 30):  # a streaming reply that fails keeps growing as plain text
        body.show_streaming("Some *text* <b>kept</b> and more"[:end] + " tail")
    wait_drawn(qtbot, body)
    assert body.toPlainText().endswith("tail")


def test_long_streamed_paragraph_keeps_a_short_tail(qtbot: QtBot) -> None:
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    text = "word " * 20_000
    for end in range(0, len(text) + 1, 997):
        body.show_streaming(text[:end])
    body.show_streaming(text)
    assert len(text) - len(body._stable_text) < 6_000  # only the tail is redrawn per frame
    assert body.toPlainText().count("word") == 20_000


def test_full_disk_during_a_reply_is_told_and_the_reply_saved_when_space_returns(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    fake_gguf: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.support.full_disk import fill, small_filesystem
    from tests.ui.conftest import wait_for_model, wait_for_reply

    engine = ScriptedEngine("words that keep coming " * 300, tokens=1200, rate=4000)
    with small_filesystem(tmp_path / "home") as home:
        monkeypatch.setenv("CHATDESK_HOME", str(home))
        window = make_window(lambda: engine)
        window.load_model(str(fake_gguf))
        wait_for_model(qtbot, window)
        window.send("hello")
        filler = fill(home)
        wait_for_reply(qtbot, window)
        notice = window.notice.label.text()
        assert "disk is full" in notice
        assert str(home / "chatdesk.db") in notice
        reply = window.chat_view.widgets[-1]
        assert "not saved" in reply.error_label.text()  # not shown as a complete reply
        full = "".join(engine.token_list())
        assert reply.body.toPlainText().count("words") == full.count("words")  # from memory
        assert window.services.store.get_message(reply.message.id).status != "complete"
        filler.unlink()
        qtbot.waitUntil(lambda: "saved now" in window.notice.label.text(), timeout=10_000)
        stored = window.services.store.get_message(reply.message.id)
        assert stored.status == "complete"
        assert stored.content == full
        window.close()


def test_damaged_database_dialog_names_the_file(
    qtbot: QtBot, chatdesk_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from chatdesk.paths import database_path
    from chatdesk.store import Store
    from chatdesk.ui import app as app_module

    with Store() as store:
        chat = store.create_conversation("x")
        for n in range(300):
            store.append_message(chat.id, "user", f"message {n} " * 40)
    data = bytearray(database_path().read_bytes())
    for offset in range(4096 * 2, len(data), 4096 * 2):  # garbage over every other page
        data[offset : offset + 4096] = os.urandom(4096)
    database_path().write_bytes(bytes(data))
    shown: list[str] = []
    monkeypatch.setattr(
        app_module.QMessageBox, "critical", lambda _parent, _title, text: shown.append(text)
    )
    assert app_module.run_app(["chatdesk"]) == 1
    assert str(database_path()) in shown[0]
