"""Tool turns stored in the tree and re-sent to the template on the next turn."""

from __future__ import annotations

from pathlib import Path

from chatdesk.services.replies import ReplyOutcome, ReplyWriter
from chatdesk.services.tool_history import chat_messages, store_tool_result
from chatdesk.store import Store

CALL = {"id": "a1B2c3D4e", "type": "function",
        "function": {"name": "calculator", "arguments": {"expression": "2**64"}}}  # fmt: skip
LOOP = [
    {"role": "assistant", "content": "", "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "a1B2c3D4e", "name": "calculator",
     "content": "18446744073709551616"},
    {"role": "assistant", "content": "It is 18446744073709551616."},
]  # fmt: skip


def test_a_tool_turn_round_trips_through_the_store(tmp_path: Path) -> None:
    with Store(tmp_path / "chatdesk.db") as store:
        cid = store.create_conversation("Tools").id
        user = store.append_message(cid, "user", "What is 2**64?")
        replies = ReplyWriter(store)
        first = replies.open(cid, user.id, model="qwen", settings=None)
        replies.close(first.id, ReplyOutcome("", "complete", tool_calls=[CALL]))
        store_tool_result(store, cid, LOOP[1])
        last = replies.open(cid, store.active_path(cid)[-1].id, model="qwen", settings=None)
        replies.close(last.id, ReplyOutcome(str(LOOP[2]["content"]), "complete"))
        store.append_message(cid, "user", "And half of it?")
        sent = chat_messages(store.active_path(cid))
    assert sent == [
        {"role": "user", "content": "What is 2**64?"},
        *LOOP,
        {"role": "user", "content": "And half of it?"},
    ]


def test_errors_and_empty_replies_are_not_resent(tmp_path: Path) -> None:
    with Store(tmp_path / "chatdesk.db") as store:
        cid = store.create_conversation("x").id
        store.append_message(cid, "user", "hi")
        store.append_message(cid, "assistant", "", status="error")
        store.append_message(cid, "assistant", "")
        assert chat_messages(store.active_path(cid)) == [{"role": "user", "content": "hi"}]
