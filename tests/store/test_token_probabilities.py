"""Token probabilities kept per reply (packed, deleted with the message) and examples."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chatdesk.engine.types import Alternative, TokenChoice
from chatdesk.probabilities.codec import (
    ProbabilityFormatError,
    from_json,
    pack,
    to_json,
    unpack,
)
from chatdesk.store import InvalidValueError, NotFoundError, Store
from chatdesk.store.schema import known_migration_names
from tests.store.test_migrations import old_database

MIGRATION = "0008_token_probabilities_and_examples"


def choices(count: int = 3, width: int = 4) -> list[TokenChoice]:
    made = []
    for n in range(count):
        ids = [(n * 7 + k * 13) % 1000 for k in range(width)]
        top = tuple(Alternative(t, f"tok{t}", 0.5 / (k + 1)) for k, t in enumerate(ids))
        made.append(TokenChoice(ids[0], f"tok{ids[0]}", 0.5, 0.75, top, top[:2]))
    made.append(TokenChoice(5000, "é🙂", 1.0, 1.0, (Alternative(5000, "é🙂", 1.0),), ()))
    return made


def assert_close(got: list[TokenChoice], want: list[TokenChoice]) -> None:
    assert [(c.token, c.text, len(c.top), len(c.sampled_top)) for c in got] == [
        (c.token, c.text, len(c.top), len(c.sampled_top)) for c in want
    ]
    for a, b in zip(got, want, strict=True):
        assert a.probability == pytest.approx(b.probability, abs=1e-7)
        assert [(x.token, x.text) for x in a.top] == [(x.token, x.text) for x in b.top]
        assert [x.probability for x in a.top] == pytest.approx([x.probability for x in b.top])


def test_pack_round_trips_and_is_compact() -> None:
    original = choices(500, 20)
    blob = pack(original)
    assert_close(unpack(blob), original)
    json_size = len(str(to_json(original)))
    assert len(blob) < json_size / 4


def test_broken_blobs_are_refused_with_a_clear_error() -> None:
    blob = pack(choices())
    for broken in (b"", b"nonsense", blob[:-5], blob[:4] + b"\x09" + blob[5:]):
        with pytest.raises(ProbabilityFormatError, match="token probabilities"):
            unpack(broken)


def test_json_form_round_trips_and_names_bad_places() -> None:
    original = choices()
    assert_close(from_json(to_json(original)), original)
    data = to_json(original)
    data[1]["top"][0]["probability"] = 1.5
    with pytest.raises(ProbabilityFormatError, match=r"tokens\[1\]\.top\[0\]\.probability"):
        from_json(data)


def test_probabilities_are_kept_per_reply_and_deleted_with_it(store: Store) -> None:
    conversation = store.create_conversation()
    question = store.append_message(conversation.id, "user", "Hi")
    answer = store.append_message(conversation.id, "assistant", "tok0.0tok1.0")
    store.save_token_probabilities(answer.id, choices())
    assert_close(store.token_probabilities(answer.id) or [], choices())
    assert store.token_probabilities(question.id) is None
    assert store.has_token_probabilities([question.id, answer.id]) == {answer.id}
    store.delete_message(question.id)
    count = store._db.execute("SELECT count(*) FROM token_probabilities").fetchone()[0]
    assert count == 0
    with pytest.raises(NotFoundError):
        store.save_token_probabilities(answer.id, choices())


def test_deleting_the_conversation_deletes_its_probabilities(store: Store) -> None:
    conversation = store.create_conversation()
    store.append_message(conversation.id, "user", "Hi")
    answer = store.append_message(conversation.id, "assistant", "Hello")
    store.save_token_probabilities(answer.id, choices())
    store.delete_conversation(conversation.id)
    assert store._db.execute("SELECT count(*) FROM token_probabilities").fetchone()[0] == 0


def test_conversations_carry_examples(store: Store) -> None:
    pairs = [{"user": "cat", "assistant": "chat"}, {"user": "dog", "assistant": "chien"}]
    conversation = store.create_conversation(examples=pairs)
    assert store.get_conversation(conversation.id).examples == pairs
    store.update_conversation(conversation.id, examples=pairs[:1])
    assert store.get_conversation(conversation.id).examples == pairs[:1]
    with pytest.raises(InvalidValueError, match="example 1"):
        store.update_conversation(conversation.id, examples=[{"user": "only half"}])
    assert store.get_conversation(conversation.id).examples == pairs[:1]


def test_migration_keeps_existing_conversations(db_path: Path) -> None:
    old_database(db_path, known_migration_names().index(MIGRATION))
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "INSERT INTO conversations (id, title, created_at, updated_at)"
        " VALUES ('c1', 'Before', 'a', 'b');"
        "INSERT INTO messages (id, conversation_id, role, content, created_at)"
        " VALUES ('m1', 'c1', 'assistant', 'old reply', 'a');"
    )
    conn.commit()
    conn.close()
    with Store(db_path) as store:
        assert store.get_conversation("c1").title == "Before"
        assert store.get_conversation("c1").examples == []
        assert store.token_probabilities("m1") is None
        store.save_token_probabilities("m1", choices())
        assert store.token_probabilities("m1") is not None
