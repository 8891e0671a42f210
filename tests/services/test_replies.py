"""One writer of assistant rows: every way a reply is made leaves the same complete row."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chatdesk
from chatdesk.engine.types import ReplyStats
from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from chatdesk.services.replies import ExchangeReply, ReplyOutcome, ReplyWriter
from chatdesk.store import Store
from tests.support.scripted_engine import ScriptedEngine

CALC = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "6*7"}}\n</tool_call>'
ROW_WRITERS = {"set_reply_metadata", "set_tool_calls"}  # only the reply writer calls these


def test_a_tool_step_row_is_as_complete_as_any_reply(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.replies = ["Let me compute. " + CALC, "It is 42."]
    services.tool_turns.approved_by = "test"
    cid = services.turns.new_conversation().id
    services.turns.send(cid, "What is 6*7?", extras={"tools": ["calculator"]})
    assert events.run_until(lambda: not services.turns.streaming, timeout=30)
    _user, step, result, answer = services.store.active_path(cid)
    for reply in (step, answer):  # the tool step keeps its context fit and identity too
        assert (reply.status, reply.n_ctx) == ("complete", 2048)
        assert reply.completion_tokens
        assert reply.model_identity["kind"] == "local"
    assert step.tool_calls is not None
    assert step.tool_calls[0]["function"]["name"] == "calculator"
    assert (result.role, result.content) == ("tool", "42")


def test_an_api_exchange_is_stored_by_the_same_rules(services: AppServices) -> None:
    stats = ReplyStats("stop", prompt_tokens=12, generated_tokens=3, n_ctx=2048, dropped_messages=1)
    messages = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hey."},
                {"role": "user", "content": "How are you?"}]  # fmt: skip
    ended = ExchangeReply("Hi!", stats)
    conversation = services.turns.record_exchange("Be kind.", messages, ended, {})
    rows = services.store.active_path(conversation.id)
    assert [(m.role, m.content) for m in rows[:3]] == [(m["role"], m["content"]) for m in messages]
    reply = rows[-1]
    assert reply.parent_id == rows[2].id
    assert (reply.content, reply.status, reply.finish_reason) == ("Hi!", "complete", "stop")
    assert (reply.prompt_tokens, reply.n_ctx, reply.dropped_messages) == (12, 2048, 1)
    assert reply.model_identity["kind"] == "local"


def test_close_is_all_or_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "chatdesk.db") as store:
        cid = store.create_conversation("c").id
        user = store.append_message(cid, "user", "hi")
        replies = ReplyWriter(store)
        row = replies.open(cid, user.id, model="m", settings=None)
        replies.stream(row.id, "partial")
        bad = ReplyOutcome("full text", "complete", {"no_such_stat": 1})
        with pytest.raises(ValueError, match="unknown stat"):
            replies.close(row.id, bad)
        kept = store.get_message(row.id)
        assert (kept.content, kept.status) == ("partial", "streaming")  # nothing half-final
        replies.close(row.id, ReplyOutcome("full text", "complete", n_ctx=512, dropped=0))
        done = store.get_message(row.id)
        assert (done.content, done.status, done.n_ctx) == ("full text", "complete", 512)


def test_no_other_module_writes_assistant_rows() -> None:
    root = Path(chatdesk.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.parent.name == "store" or path.name == "replies.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _writes_a_reply_row(node):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []


def _writes_a_reply_row(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    if node.func.attr in ROW_WRITERS:
        return True
    if node.func.attr != "append_message":
        return False
    roles = [a for a in node.args[1:2] if isinstance(a, ast.Constant)]
    return not roles or roles[0].value == "assistant"  # a role given as a variable counts
