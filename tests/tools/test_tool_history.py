"""Tool turns stored in the tree and re-sent to the template on the next turn."""

from __future__ import annotations

from pathlib import Path

from chatdesk.services.tool_history import chat_messages, store_loop_message
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
        store.append_message(cid, "user", "What is 2**64?")
        for message in LOOP:
            store_loop_message(store, cid, message, model="qwen")
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
