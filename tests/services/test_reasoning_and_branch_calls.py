"""Reasoning apart, and calls wherever a reply comes from, through the real turn service.

A reply's thinking block is parsed out of the text: the user sees the answer, the reasoning
is stored with the reply (its extra) and exported, and it is never sent back to the model.
A reply continued from a point (a branch from a token, Continue) is read from its start, so
a call written across the branch point runs (with approval) like any other.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from chatdesk.services.tool_turns import ALL_TOOLS
from tests.support.scripted_engine import ScriptedEngine


@pytest.fixture
def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_gguf: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CHATDESK_HOME", str(tmp_path / "home"))
    engine = ScriptedEngine()
    app = AppServices.create(client_factory=lambda: engine)  # type: ignore[arg-type,return-value]
    events = EventQueue()
    app.set_dispatch(events)
    app.engine.load(str(fake_gguf))
    assert events.run_until(lambda: app.engine.ready, timeout=5)
    yield app, engine, events
    app.close()


def test_thinking_is_kept_apart_stored_exported_and_not_sent_back(  # type: ignore[no-untyped-def]
    scripted, tmp_path: Path
) -> None:
    app, engine, events = scripted
    engine.replies = ["<think>The user wants 2+2. That is 4.</think>It is 4.", "Yes."]
    conversation = app.turns.new_conversation()
    turn = app.turns.send(conversation.id, "What is 2+2?")
    assert events.run_until(lambda: turn.finished, timeout=10)
    reply = app.chat.message(turn.message_id)
    assert reply.content == "It is 4."
    assert reply.extra["reasoning"] == "The user wants 2+2. That is 4."
    exported = app.export.json(conversation.id, tmp_path / "chat.json").read_text()
    assert json.loads(exported)  # valid JSON, with the reasoning beside the reply
    assert "The user wants 2+2. That is 4." in exported
    again = app.turns.send(conversation.id, "Sure?")
    assert events.run_until(lambda: again.finished, timeout=10)
    sent = json.dumps(engine.requests[-1]["messages"])
    assert "It is 4." in sent
    assert "The user wants" not in sent


def test_a_call_written_across_a_branch_point_runs(scripted) -> None:  # type: ignore[no-untyped-def]
    app, engine, events = scripted
    app.tool_turns.approved_by = "test"
    conversation = app.turns.new_conversation()
    user = app.store.append_message(conversation.id, "user", "Add 2 and 3")
    cut = app.store.append_message(
        conversation.id, "assistant", '<tool_call>\n{"name": "Calculator", ',
        parent_id=user.id, status="interrupted",
    )  # fmt: skip
    engine.replies = ['"arguments": {"expression": "2+3"}}\n</tool_call>', "The sum is 5."]
    turn = app.turns.continue_reply(app.chat.message(cut.id), {"tools": ALL_TOOLS})
    assert events.run_until(lambda: turn.finished and not app.turns.streaming, timeout=10)
    rows = app.store.path_to(app.store.get_conversation(conversation.id).active_leaf_id)
    assert [m.role for m in rows] == ["user", "assistant", "tool", "assistant"]
    assert rows[1].content == ""  # the call is not shown as text
    assert rows[1].tool_calls[0]["function"]["name"] == "Calculator"
    assert rows[2].content.strip() == "5"
    assert rows[3].content == "The sum is 5."


def test_reasoning_is_in_the_markdown_export_fenced(scripted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, engine, events = scripted
    engine.replies = ["<think>Check *this* <b>first</b>.</think>Done."]
    conversation = app.turns.new_conversation()
    turn = app.turns.send(conversation.id, "Go")
    assert events.run_until(lambda: turn.finished, timeout=10)
    markdown = app.export.markdown(conversation.id, tmp_path / "chat.md").read_text()
    assert "**Reasoning**" in markdown
    assert "```\nCheck *this* <b>first</b>.\n```" in markdown
    assert markdown.index("**Reasoning**") < markdown.index("Done.")
