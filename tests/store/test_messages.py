"""The message tree: appending, branching (edit / regenerate), siblings, active path."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from chatdesk.store import Conversation, InvalidValueError, NotFoundError, Store


@pytest.fixture
def chat(store: Store) -> Conversation:
    return store.create_conversation("chat")


def contents(messages: list) -> list[str]:
    return [m.content for m in messages]


def test_append_builds_a_linear_chat(store: Store, chat: Conversation) -> None:
    system = store.append_message(chat.id, "system", "You are terse.")
    user = store.append_message(chat.id, "user", "Hi")
    reply = store.append_message(chat.id, "assistant", "Hello.", model="m1", settings={"seed": 1})
    assert reply.parent_id == user.id
    assert user.parent_id == system.id
    assert system.parent_id is None
    assert store.get_conversation(chat.id).active_leaf_id == reply.id
    assert contents(store.active_path(chat.id)) == ["You are terse.", "Hi", "Hello."]
    assert store.get_message(reply.id) == reply
    assert reply.model == "m1"
    assert reply.settings == {"seed": 1}


def test_append_moves_updated_at(store: Store, chat: Conversation) -> None:
    message = store.append_message(chat.id, "user", "Hi")
    assert store.get_conversation(chat.id).updated_at == message.created_at
    assert message.created_at >= chat.updated_at


def test_regenerate_adds_a_sibling_and_keeps_the_old_reply(
    store: Store, chat: Conversation
) -> None:
    user = store.append_message(chat.id, "user", "Tell a joke")
    first = store.append_message(chat.id, "assistant", "joke one")
    second = store.append_message(chat.id, "assistant", "joke two", parent_id=user.id)
    assert contents(store.siblings(first.id)) == ["joke one", "joke two"]
    assert contents(store.siblings(second.id)) == ["joke one", "joke two"]
    assert contents(store.children(user.id)) == ["joke one", "joke two"]
    assert contents(store.active_path(chat.id)) == ["Tell a joke", "joke two"]
    assert store.set_active_leaf(chat.id, first.id) == first.id
    assert contents(store.active_path(chat.id)) == ["Tell a joke", "joke one"]


def test_editing_the_first_message_adds_a_sibling_root(store: Store, chat: Conversation) -> None:
    original = store.append_message(chat.id, "user", "Wrong question")
    store.append_message(chat.id, "assistant", "answer")
    edited = store.append_message(chat.id, "user", "Right question", parent_id=None)
    store.append_message(chat.id, "assistant", "better answer")
    assert contents(store.siblings(original.id)) == ["Wrong question", "Right question"]
    assert contents(store.active_path(chat.id)) == ["Right question", "better answer"]
    assert store.count_messages(chat.id) == 4
    assert edited.parent_id is None


def test_selecting_an_inner_message_descends_to_its_newest_leaf(
    store: Store, chat: Conversation
) -> None:
    root = store.append_message(chat.id, "user", "q")
    store.append_message(chat.id, "assistant", "a1")
    store.append_message(chat.id, "user", "q2")
    newest = store.append_message(chat.id, "assistant", "a2")
    other = store.append_message(chat.id, "assistant", "alt", parent_id=root.id)
    assert store.get_conversation(chat.id).active_leaf_id == other.id
    assert store.set_active_leaf(chat.id, root.id) == other.id
    first_reply = store.children(root.id)[0]
    assert store.set_active_leaf(chat.id, first_reply.id) == newest.id
    assert contents(store.active_path(chat.id)) == ["q", "a1", "q2", "a2"]
    assert contents(store.path_to(first_reply.id)) == ["q", "a1"]


def test_parent_must_belong_to_the_conversation(store: Store, chat: Conversation) -> None:
    other = store.create_conversation("other")
    foreign = store.append_message(other.id, "user", "elsewhere")
    with pytest.raises(InvalidValueError, match="another conversation"):
        store.append_message(chat.id, "assistant", "x", parent_id=foreign.id)
    with pytest.raises(InvalidValueError):
        store.set_active_leaf(chat.id, foreign.id)
    with pytest.raises(NotFoundError):
        store.append_message(chat.id, "assistant", "x", parent_id="missing")
    assert store.count_messages(chat.id) == 0


def test_bad_role_status_and_stats_are_refused(store: Store, chat: Conversation) -> None:
    with pytest.raises(InvalidValueError, match="role"):
        store.append_message(chat.id, "bot", "x")
    with pytest.raises(InvalidValueError, match="status"):
        store.append_message(chat.id, "user", "x", status="done")
    with pytest.raises(InvalidValueError, match="content must be a string"):
        store.append_message(chat.id, "user", None)  # type: ignore[arg-type]
    message = store.append_message(chat.id, "user", "x")
    with pytest.raises(InvalidValueError, match="content must be a string"):
        store.update_message(message.id, content=b"bytes")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="unknown stat fields: speed"):
        store.update_message(message.id, stats={"speed": 3})
    with pytest.raises(InvalidValueError, match="prompt_tokens"):
        store.update_message(message.id, stats={"prompt_tokens": 1.5})
    with pytest.raises(InvalidValueError, match="tokens_per_second"):
        store.update_message(message.id, stats={"tokens_per_second": float("nan")})
    assert store.get_message(message.id) == message


def test_streaming_updates_in_place_then_completes(store: Store, chat: Conversation) -> None:
    store.append_message(chat.id, "user", "count")
    reply = store.append_message(chat.id, "assistant", "", status="streaming", model="m")
    for text in ("1", "1 2", "1 2 3"):
        store.update_message(reply.id, content=text)
        assert store.get_message(reply.id).content == text
    store.update_message(
        reply.id,
        status="complete",
        stats={
            "prompt_tokens": 12,
            "completion_tokens": 5,
            "time_to_first_token_ms": 80,
            "tokens_per_second": 41.5,
            "finish_reason": "stop",
        },
    )
    final = store.get_message(reply.id)
    assert (final.content, final.status, final.finish_reason) == ("1 2 3", "complete", "stop")
    assert (final.prompt_tokens, final.completion_tokens) == (12, 5)
    assert final.time_to_first_token_ms == 80.0
    assert final.tokens_per_second == 41.5


WRITER = """
import os, signal, sys, time
from chatdesk.store import Store
store = Store(sys.argv[1])
reply = store.append_message(sys.argv[2], "assistant", "", status="streaming")
store.update_message(reply.id, content="partial answer")
print(reply.id, flush=True)
if sys.argv[3] == "crash":
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(60)
"""


def start_writer(db_path: Path, cid: str, how: str) -> tuple[subprocess.Popen[str], str]:
    """Another process streaming a reply into the database; returns it and the reply id."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path), cid, how],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def stop_writer(process: subprocess.Popen[str]) -> None:
    """Kill the writer (if it still runs) and release its pipe."""
    process.kill()
    process.wait(timeout=30)
    assert process.stdout is not None
    process.stdout.close()


def test_streamed_text_survives_a_crash(db_path: Path, chat: Conversation, store: Store) -> None:
    process, reply_id = start_writer(db_path, chat.id, "crash")
    stop_writer(process)
    with Store(db_path) as other:  # any start recovers it: window or command
        assert other.get_message(reply_id).content == "partial answer"
        assert other.get_message(reply_id).status == "interrupted"


def test_a_reply_whose_writer_still_runs_is_left_streaming(
    db_path: Path, chat: Conversation, store: Store
) -> None:
    process, reply_id = start_writer(db_path, chat.id, "stay")
    try:
        with Store(db_path) as other:  # the window starting while `chatdesk ask` streams
            assert other.get_message(reply_id).status == "streaming"
            assert other.recover_interrupted() == 0
    finally:
        stop_writer(process)
    with Store(db_path) as later:
        assert later.get_message(reply_id).status == "interrupted"


def test_own_streaming_reply_is_not_recovered_by_a_second_store(
    db_path: Path, chat: Conversation, store: Store
) -> None:
    reply = store.append_message(chat.id, "assistant", "", status="streaming")
    with Store(db_path) as other:
        assert other.get_message(reply.id).status == "streaming"
    store.update_message(reply.id, status="complete")
    assert store.get_message(reply.id).status == "complete"


def test_update_unknown_message(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.update_message("missing", content="x")
    with pytest.raises(NotFoundError):
        store.update_message("missing")
    for call in (store.get_message, store.children, store.siblings, store.path_to):
        with pytest.raises(NotFoundError):
            call("missing")


def test_delete_message_cuts_the_branch_and_moves_the_active_leaf(
    store: Store, chat: Conversation
) -> None:
    user = store.append_message(chat.id, "user", "q")
    kept = store.append_message(chat.id, "assistant", "a1")
    cut = store.append_message(chat.id, "assistant", "a2", parent_id=user.id)
    store.append_message(chat.id, "user", "follow-up")
    store.delete_message(cut.id)
    assert store.count_messages(chat.id) == 2
    assert store.get_conversation(chat.id).active_leaf_id == kept.id
    store.delete_message(user.id)
    assert store.count_messages(chat.id) == 0
    assert store.active_path(chat.id) == []


def test_messages_lists_the_whole_tree_in_creation_order(store: Store, chat: Conversation) -> None:
    user = store.append_message(chat.id, "user", "q")
    store.append_message(chat.id, "assistant", "a1")
    store.append_message(chat.id, "assistant", "a2", parent_id=user.id)
    assert contents(store.messages(chat.id)) == ["q", "a1", "a2"]


def test_a_reply_keeps_what_speculative_decoding_drafted_and_kept(
    store: Store, chat: Conversation
) -> None:
    store.append_message(chat.id, "user", "rewrite this")
    reply = store.append_message(chat.id, "assistant", "", status="streaming")
    stats = {"completion_tokens": 90, "drafted_tokens": 40, "accepted_tokens": 31}
    store.update_message(reply.id, content="done", status="complete", stats=stats)
    final = store.get_message(reply.id)
    assert (final.drafted_tokens, final.accepted_tokens) == (40, 31)
    copy = replace(final, id="copy-of-reply", parent_id=None)
    store.insert_message(copy)
    assert store.get_message("copy-of-reply").accepted_tokens == 31
    with pytest.raises(InvalidValueError):
        store.update_message(reply.id, stats={"drafted_tokens": -1})
