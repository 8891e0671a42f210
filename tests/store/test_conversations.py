"""Conversations: create, read, list order and paging, rename, pin, update, delete."""

from __future__ import annotations

import pytest

from chatdesk.store import InvalidValueError, NotFoundError, Store


def test_create_and_get(store: Store) -> None:
    created = store.create_conversation(
        "Trip plan", model="qwen2.5-0.5b", system_prompt="Be brief.", settings={"temperature": 0.2}
    )
    fetched = store.get_conversation(created.id)
    assert fetched == created
    assert fetched.settings == {"temperature": 0.2}
    assert fetched.pinned is False
    assert fetched.active_leaf_id is None
    assert len(created.id) == 32
    assert created.created_at.endswith("Z")


def test_defaults(store: Store) -> None:
    conversation = store.create_conversation()
    assert (conversation.title, conversation.model, conversation.system_prompt) == (
        "New chat",
        None,
        "",
    )
    assert conversation.settings == {}


def test_unknown_conversation(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no conversation with id 'nope'"):
        store.get_conversation("nope")
    for call in (
        lambda: store.rename_conversation("nope", "x"),
        lambda: store.set_pinned("nope", True),
        lambda: store.delete_conversation("nope"),
        lambda: store.update_conversation("nope", model="m"),
        lambda: store.append_message("nope", "user", "hi"),
        lambda: store.active_path("nope"),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_list_is_pinned_first_then_newest_activity(store: Store) -> None:
    first = store.create_conversation("first")
    second = store.create_conversation("second")
    third = store.create_conversation("third")
    store.append_message(first.id, "user", "activity moves this one up")
    assert [c.title for c in store.list_conversations()] == ["first", "third", "second"]
    store.set_pinned(second.id, True)
    assert [c.title for c in store.list_conversations()] == ["second", "first", "third"]
    store.set_pinned(second.id, False)
    assert store.list_conversations()[0].id == first.id
    assert third.id in {c.id for c in store.list_conversations()}


def test_paging(store: Store) -> None:
    ids = [store.create_conversation(f"chat {n}").id for n in range(7)]
    pages = [store.list_conversations(limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [len(page) for page in pages] == [3, 3, 1]
    listed = [c.id for page in pages for c in page]
    assert listed == list(reversed(ids))
    assert store.count_conversations() == 7
    assert len(store.list_conversations(limit=None)) == 7


def test_rename_and_update_only_given_fields(store: Store) -> None:
    conversation = store.create_conversation("old", model="a", system_prompt="p", settings={"x": 1})
    store.rename_conversation(conversation.id, "new ✓")
    updated = store.update_conversation(conversation.id, settings={"top_p": 0.9})
    assert updated.title == "new ✓"
    assert (updated.model, updated.system_prompt, updated.settings) == ("a", "p", {"top_p": 0.9})
    updated = store.update_conversation(conversation.id, model=None)
    assert updated.model is None
    assert updated.settings == {"top_p": 0.9}


def test_title_must_be_text(store: Store) -> None:
    with pytest.raises(InvalidValueError):
        store.create_conversation(123)  # type: ignore[arg-type]


def test_delete_removes_messages_and_search_entries(store: Store) -> None:
    keep = store.create_conversation("keep")
    gone = store.create_conversation("gone walrus")
    store.append_message(gone.id, "user", "walrus facts")
    store.append_message(gone.id, "assistant", "walruses are large")
    store.append_message(keep.id, "user", "hello")
    store.delete_conversation(gone.id)
    assert store.count_messages() == 1
    assert store.search("walrus") == []
    with pytest.raises(NotFoundError):
        store.get_conversation(gone.id)
    assert [c.id for c in store.list_conversations()] == [keep.id]


def test_find_ids_by_prefix_treats_wildcards_literally(store: Store) -> None:
    conversation = store.create_conversation()
    assert store.find_conversation_ids(conversation.id[:6]) == [conversation.id]
    assert store.find_conversation_ids("%") == []
    assert store.find_conversation_ids("_") == []
