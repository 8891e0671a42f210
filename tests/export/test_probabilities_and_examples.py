"""Export and import of few-shot examples and (optionally) replies' token probabilities."""

from __future__ import annotations

import json

import pytest

from chatdesk.engine.types import Alternative, TokenChoice
from chatdesk.export import ImportFormatError, export_json, import_text, render
from chatdesk.store import Store

PAIRS = [{"user": "cat", "assistant": "chat"}, {"user": "dog", "assistant": "chien"}]
CHOICES = [
    TokenChoice(5, "Bon", 0.5, 0.8, (Alternative(5, "Bon", 0.5), Alternative(6, "Sal", 0.25))),
    TokenChoice(
        7, "jour", 0.9, 1.0, (Alternative(7, "jour", 0.9),), (Alternative(7, "jour", 1.0),)
    ),
]


def conversation_with_everything(store: Store) -> tuple[str, str]:
    conversation = store.create_conversation("French", examples=PAIRS)
    store.append_message(conversation.id, "user", "hello")
    reply = store.append_message(conversation.id, "assistant", "Bonjour")
    store.save_token_probabilities(reply.id, CHOICES)
    return conversation.id, reply.id


def test_examples_travel_and_probabilities_only_when_asked(
    store: Store, fresh_store: Store
) -> None:
    cid, rid = conversation_with_everything(store)
    plain = json.loads(export_json(store, [cid]))["conversations"][0]
    assert plain["examples"] == PAIRS
    assert all("token_probabilities" not in m for m in plain["messages"])
    full_text = export_json(store, [cid], probabilities=True)
    full = json.loads(full_text)["conversations"][0]
    tokens = full["messages"][1]["token_probabilities"]
    assert [t["token"] for t in tokens] == ["Bon", "jour"]
    assert tokens[0]["top"][1] == {"token": "Sal", "id": 6, "probability": 0.25}
    import_text(fresh_store, full_text)
    assert fresh_store.get_conversation(cid).examples == PAIRS
    kept = fresh_store.token_probabilities(rid)
    assert kept is not None
    assert [c.text for c in kept] == ["Bon", "jour"]
    assert export_json(fresh_store, [cid], probabilities=True) == full_text


def test_markdown_never_holds_probabilities(store: Store) -> None:
    cid, _rid = conversation_with_everything(store)
    text = render(store, cid, "md", probabilities=True)
    assert "Bonjour" in text
    assert "probability" not in text
    assert "Sal" not in text


def test_conversation_without_examples_exports_as_before(store: Store) -> None:
    conversation = store.create_conversation("Plain")
    record = json.loads(export_json(store, [conversation.id]))["conversations"][0]
    assert "examples" not in record


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"examples": [{"user": "x"}]}, r"conversations\[0\]\.examples: example 1 needs"),
        ({"examples": "x"}, r"conversations\[0\]\.examples: expected a list"),
    ],
)
def test_bad_examples_are_refused(store: Store, change: dict[str, object], message: str) -> None:
    data = {"conversations": [{"title": "t", "messages": [], **change}]}
    with pytest.raises(ImportFormatError, match=message):
        import_text(store, json.dumps(data))
    assert store.count_conversations() == 0


def test_bad_probabilities_are_refused_with_the_place(store: Store) -> None:
    bad = [{"token": "x", "id": 1, "probability": 2.0, "top": []}]
    data = {"conversations": [{"title": "t", "messages": [
        {"role": "assistant", "content": "x", "token_probabilities": bad}]}]}  # fmt: skip
    with pytest.raises(ImportFormatError, match=r"messages\[0\]\.token_probabilities\[0\]"):
        import_text(store, json.dumps(data))
    assert store.count_conversations() == 0
