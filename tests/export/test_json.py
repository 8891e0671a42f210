"""Lossless JSON export and import: round trip, minimal files, and every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatdesk.export import FORMAT, ImportFormatError, export_json, import_file, import_text
from chatdesk.export.markdown import export_markdown
from chatdesk.store import Conversation, Store
from tests.export.conftest import NASTY_REPLY


def test_round_trip_is_byte_identical(
    store: Store, fresh_store: Store, nasty: Conversation
) -> None:
    plain = store.create_conversation("plain")
    store.append_message(plain.id, "user", "hello")
    exported = export_json(store, [nasty.id, plain.id])
    result = import_text(fresh_store, exported)
    assert result.conversation_ids == [nasty.id, plain.id]
    assert (result.message_count, result.renumbered) == (6, 0)
    assert export_json(fresh_store, [nasty.id, plain.id]) == exported


def test_import_restores_every_field(store: Store, fresh_store: Store, nasty: Conversation) -> None:
    import_text(fresh_store, export_json(store, [nasty.id]))
    assert fresh_store.get_conversation(nasty.id) == nasty
    assert fresh_store.messages(nasty.id) == store.messages(nasty.id)
    reply = fresh_store.get_message("m4")
    assert (reply.content, reply.status, reply.tokens_per_second) == (
        NASTY_REPLY,
        "interrupted",
        41.25,
    )
    assert (reply.drafted_tokens, reply.accepted_tokens) == (30, 21)
    assert [m.id for m in fresh_store.siblings("m4")] == ["m3", "m4"]
    assert fresh_store.search("template")[0].message_id == "m4"


def test_export_document_shape(store: Store, nasty: Conversation) -> None:
    data = json.loads(export_json(store, [nasty.id]))
    assert (data["format"], data["version"]) == (FORMAT, 1)
    record = data["conversations"][0]
    assert list(record) == [
        "id", "title", "created_at", "updated_at", "model", "system_prompt", "settings",
        "pinned", "active_leaf_id", "model_identity", "messages",
    ]  # fmt: skip
    assert [m["id"] for m in record["messages"]] == ["m1", "m2", "m3", "m4", "m5"]
    assert record["messages"][3]["parent_id"] == "m2"


def test_minimal_linear_chat(store: Store) -> None:
    minimal = {
        "conversations": [
            {
                "title": "From elsewhere",
                "messages": [
                    {"role": "system", "content": "Be kind."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello!"},
                ],
            }
        ]
    }
    result = import_text(store, json.dumps(minimal))
    (cid,) = result.conversation_ids
    conversation = store.get_conversation(cid)
    assert conversation.title == "From elsewhere"
    path = store.active_path(cid)
    assert [(m.role, m.content) for m in path] == [
        ("system", "Be kind."),
        ("user", "Hi"),
        ("assistant", "Hello!"),
    ]
    assert all(m.status == "complete" for m in path)
    assert store.list_conversations()[0].id == cid


def test_foreign_timestamps_are_normalised(store: Store) -> None:
    data = {
        "conversations": [
            {
                "title": "t",
                "created_at": "2025-05-01T12:00:00+02:00",
                "messages": [{"role": "user", "content": "x", "created_at": "2025-05-01"}],
            }
        ]
    }
    (cid,) = import_text(store, json.dumps(data)).conversation_ids
    assert store.get_conversation(cid).created_at == "2025-05-01T10:00:00.000000Z"
    assert store.active_path(cid)[0].created_at == "2025-05-01T00:00:00.000000Z"


def test_importing_twice_makes_a_copy_with_new_ids(store: Store, nasty: Conversation) -> None:
    exported = export_json(store, [nasty.id])
    result = import_text(store, exported)
    assert result.renumbered == 1
    (copy_id,) = result.conversation_ids
    assert copy_id != nasty.id
    assert store.count_conversations() == 2
    copy = store.get_conversation(copy_id)
    assert copy.title == f"{nasty.title} (imported copy)"  # not two identical titles
    assert [m.content for m in store.active_path(copy_id)] == [
        m.content for m in store.active_path(nasty.id)
    ]
    assert copy.active_leaf_id not in {"m5", None}
    assert store.get_message("m5").conversation_id == nasty.id


def document(*conversations: Any) -> str:
    return json.dumps({"conversations": list(conversations)})


GOOD_MESSAGE = {"role": "user", "content": "ok"}
GOOD = {"title": "fine", "messages": [GOOD_MESSAGE]}

BAD_INPUTS = [
    ("", "not valid JSON"),
    ("{", "not valid JSON"),
    ('{"conversations": [', "not valid JSON"),
    ('{"conversations": [{"title": "a", "messages": []}]', "not valid JSON"),  # truncated
    ("[]", "file: expected an object, got a list"),
    ("{}", "missing required key 'conversations'"),
    ('{"conversations": {}}', "file.conversations: expected a list, got an object"),
    ('{"conversations": [1]}', r"conversations\[0\]: expected an object, got a number"),
    (document({"messages": []}), r"conversations\[0\]: missing required key 'title'"),
    (document({"title": 5, "messages": []}), r"conversations\[0\].title: expected a string"),
    (document({"title": "t"}), "missing required key 'messages'"),
    (document({"title": "t", "messages": "hi"}), "messages: expected a list, got a string"),
    (document({"title": "t", "messages": [None]}), r"messages\[0\]: expected an object, got null"),
    (document({"title": "t", "messages": [{"content": "x"}]}), "missing required key 'role'"),
    (document({"title": "t", "messages": [{"role": "user"}]}), "missing required key 'content'"),
    (
        document({"title": "t", "messages": [{"role": "bot", "content": "x"}]}),
        r"messages\[0\].role: expected one of system, user, assistant, tool, got 'bot'",
    ),
    (document({"title": "t", "messages": [{"role": "user", "content": 3}]}), "content: expected"),
    (
        document({"title": "t", "messages": [{**GOOD_MESSAGE, "status": "done"}]}),
        "status: expected one of",
    ),
    (
        document({"title": "t", "messages": [{**GOOD_MESSAGE, "parent_id": "ghost"}]}),
        "parent_id: 'ghost' is not a message listed before this one",
    ),
    (
        document(
            {"title": "t", "messages": [{**GOOD_MESSAGE, "id": "a"}, {**GOOD_MESSAGE, "id": "a"}]}
        ),
        r"messages\[1\].id: duplicate",
    ),
    (
        document({"title": "t", "messages": [{**GOOD_MESSAGE, "created_at": "yesterday"}]}),
        "created_at: not an ISO-8601 date and time: 'yesterday'",
    ),
    (
        document({"title": "t", "messages": [{**GOOD_MESSAGE, "prompt_tokens": -1}]}),
        "prompt_tokens: expected a non-negative number",
    ),
    (
        document({"title": "t", "messages": [{**GOOD_MESSAGE, "prompt_tokens": True}]}),
        "prompt_tokens: expected an integer or null, got true/false",
    ),
    (
        document({"title": "t", "messages": [{**GOOD_MESSAGE, "completion_tokens": 1.5}]}),
        "completion_tokens: expected an integer or null, got a number",
    ),
    (
        '{"conversations": [{"title": "t", "messages": [{"role": "user", "content": "x", '
        '"tokens_per_second": NaN}]}]}',
        "NaN is not allowed",
    ),
    (
        document({"title": "t", "messages": [{**GOOD_MESSAGE, "prompt_tokens": 10**400}]}),
        "prompt_tokens: expected a non-negative number below",
    ),
    (
        document({"title": "t", "messages": [{**GOOD_MESSAGE, "tokens_per_second": 10**400}]}),
        "tokens_per_second: expected a non-negative number below",
    ),
    (
        document({"title": "t", "messages": [{**GOOD_MESSAGE, "tokens_per_second": 7}]}).replace(
            ": 7", ": 1e400"
        ),
        "tokens_per_second: expected a non-negative number",
    ),
    ('{"conversations": [{"title": "\\ud800", "messages": []}]}', "invalid unicode"),
    (
        document({"title": "t", "messages": [GOOD_MESSAGE], "settings": {"k": "\ud83d"}}),
        "invalid unicode",
    ),
    (document({"title": "t", "messages": [], "settings": []}), "settings: expected an object"),
    (document({"title": "t", "messages": [], "pinned": 1}), "pinned: expected true/false"),
    (
        document({"title": "t", "messages": [GOOD_MESSAGE], "active_leaf_id": "zz"}),
        "active_leaf_id: 'zz' is not one of this conversation's messages",
    ),
    (json.dumps({"format": "other-app", "conversations": []}), "format: expected"),
    (
        json.dumps({"version": 2, "conversations": []}),
        "version: 2 is newer than this ChatDesk reads",
    ),
    (json.dumps({"version": "1", "conversations": []}), "version: expected an integer"),
    (document(GOOD, {"title": "second is broken", "messages": [{}]}), r"conversations\[1\]"),
    ("[" * 100_000, "not valid JSON"),
]


@pytest.mark.parametrize(("text", "error"), BAD_INPUTS)
def test_bad_input_is_refused_and_writes_nothing(
    store: Store, nasty: Conversation, text: str, error: str
) -> None:
    before = export_json(store, [c.id for c in store.list_conversations()])
    with pytest.raises(ImportFormatError, match=error):
        import_text(store, text)
    assert store.count_conversations() == 1
    assert export_json(store, [c.id for c in store.list_conversations()]) == before


def test_a_failure_while_writing_rolls_everything_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    original = Store.insert_message

    def failing(self: Store, message: Any) -> None:
        calls.append(message)
        if len(calls) == 3:
            raise OSError("disk full")
        original(self, message)

    monkeypatch.setattr(Store, "insert_message", failing)
    with pytest.raises(OSError, match="disk full"):
        import_text(store, document(GOOD, GOOD, GOOD))
    assert store.count_conversations() == 0
    assert store.count_messages() == 0


def test_import_file_errors_name_the_file(store: Store, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(ImportFormatError, match=r"cannot read .*missing\.json"):
        import_file(store, missing)
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"conversations": [{"title": "caf\xe9"}]}'.encode("latin-1"))
    with pytest.raises(ImportFormatError, match=r"latin1\.json: not UTF-8 text"):
        import_file(store, latin1)
    partial = tmp_path / "partial.json"
    partial.write_text(document(GOOD)[:-10], encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"partial\.json: not valid JSON: .* line 1"):
        import_file(store, partial)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(ImportFormatError, match="cannot read"):
        import_file(store, folder)
    assert store.count_conversations() == 0


def test_import_file_with_byte_order_mark(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + document(GOOD).encode("utf-8"))
    assert import_file(store, path).message_count == 1


def test_tree_with_explicit_parents(store: Store) -> None:
    messages = [
        {"id": "q", "role": "user", "content": "q"},
        {"id": "a1", "parent_id": "q", "role": "assistant", "content": "a1"},
        {"id": "a2", "parent_id": "q", "role": "assistant", "content": "a2"},
        {"id": "q2", "role": "user", "content": "after a2"},  # no parent_id: follows a2
    ]
    (cid,) = import_text(store, document({"title": "t", "messages": messages})).conversation_ids
    assert [m.content for m in store.active_path(cid)] == ["q", "a2", "after a2"]
    assert [m.id for m in store.siblings("a1")] == ["a1", "a2"]


def test_round_trip_with_clock_skew(store: Store, fresh_store: Store) -> None:
    """A reply dated before its question (clocks differ elsewhere) still round-trips."""
    skewed = document(
        {
            "title": "skew",
            "messages": [
                {"id": "q", "role": "user", "content": "q", "created_at": "2026-01-01T10:00:00Z"},
                {
                    "id": "a",
                    "role": "assistant",
                    "content": "a",
                    "created_at": "2026-01-01T09:00:00Z",
                },
            ],
        }
    )
    (cid,) = import_text(store, skewed).conversation_ids
    exported = export_json(store, [cid])
    assert [m["id"] for m in json.loads(exported)["conversations"][0]["messages"]] == ["q", "a"]
    import_text(fresh_store, exported)
    assert export_json(fresh_store, [cid]) == exported


def test_null_active_leaf_shows_the_last_message(store: Store) -> None:
    data = document(
        {"title": "t", "active_leaf_id": None, "messages": [GOOD_MESSAGE, GOOD_MESSAGE]}
    )
    (cid,) = import_text(store, data).conversation_ids
    assert len(store.active_path(cid)) == 2


def test_reply_metadata_and_model_identity_round_trip(store: Store, fresh_store: Store) -> None:
    identity = {"kind": "local", "path": "/m/a.gguf", "name": "a", "size": 7, "sha256": "ab"}
    cid = store.create_conversation("Meta", model="/m/a.gguf", model_identity=identity).id
    store.append_message(cid, "user", "q")
    reply = store.append_message(cid, "assistant", "", status="error", model="/m/a.gguf")
    store.set_reply_metadata(
        reply.id, n_ctx=2048, dropped_messages=2, error="too long", extra={"tools": [1]},
        model_identity=identity,
    )  # fmt: skip
    import_text(fresh_store, export_json(store, [cid]))
    copied = fresh_store.get_message(reply.id)
    assert (copied.n_ctx, copied.dropped_messages, copied.error) == (2048, 2, "too long")
    assert copied.extra == {"tools": [1]}
    assert copied.model_identity == identity
    assert fresh_store.get_conversation(cid).model_identity == identity


def test_tool_calls_and_results_survive_export_and_import(tmp_path: Path) -> None:
    function = {"name": "calculator", "arguments": {"expression": "2**64"}}
    calls = [{"id": "a1B2c3D4e", "type": "function", "function": function}]
    with Store(tmp_path / "a.db") as store:
        cid = store.create_conversation("Tools").id
        store.append_message(cid, "user", "What is 2**64?")
        store.append_message(cid, "assistant", "", tool_calls=calls)
        store.append_message(cid, "tool", "18446744073709551616", tool_call_id="a1B2c3D4e")
        store.append_message(cid, "assistant", "It is 18446744073709551616.")
        exported = export_json(store, [cid])
        markdown = export_markdown(store, cid)
    with Store(tmp_path / "b.db") as other:
        [new_cid] = import_text(other, exported).conversation_ids
        path = other.active_path(new_cid)
        assert [m.role for m in path] == ["user", "assistant", "tool", "assistant"]
        assert path[1].tool_calls == calls
        assert path[2].tool_call_id == "a1B2c3D4e"
        assert export_json(other, [new_cid]) == exported
    assert "## Tool result" in markdown
    assert "**Tool call** calculator" in markdown
    assert '"expression": "2\\*\\*64"' not in markdown
    assert '"expression": "2**64"' in markdown
