"""Full-text search: ranking, snippets, sync with edits, and hostile query text."""

from __future__ import annotations

import pytest

from chatdesk.store import Store


def test_finds_titles_and_messages_with_snippets(store: Store) -> None:
    trip = store.create_conversation("Kyoto trip")
    store.append_message(trip.id, "user", "Which temples should I see in Kyoto in autumn?")
    other = store.create_conversation("Cooking")
    message = store.append_message(other.id, "user", "A recipe for ramen like in Kyoto")
    hits = store.search("kyoto")
    assert {(h.conversation_id, h.message_id) for h in hits} >= {
        (trip.id, None),
        (other.id, message.id),
    }
    title_hit = next(h for h in hits if h.message_id is None)
    assert title_hit.snippet == "[Kyoto] trip"
    ramen = next(h for h in hits if h.message_id == message.id)
    assert "[Kyoto]" in ramen.snippet
    assert ramen.title == "Cooking"
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)


def test_better_matches_rank_first(store: Store) -> None:
    chat = store.create_conversation("chat")
    weak = store.append_message(chat.id, "user", "python " + "filler words here " * 30)
    strong = store.append_message(chat.id, "user", "python python python snakes")
    hits = store.search("python")
    assert [h.message_id for h in hits] == [strong.id, weak.id]


def test_every_word_must_match_and_last_word_is_a_prefix(store: Store) -> None:
    chat = store.create_conversation("chat")
    both = store.append_message(chat.id, "user", "quantised models on laptops")
    store.append_message(chat.id, "user", "quantised only")
    assert [h.message_id for h in store.search("laptop quantised")] == []
    assert [h.message_id for h in store.search("quantised lapt")] == [both.id]


def test_custom_highlight_markers_and_long_snippets(store: Store) -> None:
    chat = store.create_conversation("chat")
    store.append_message(chat.id, "user", "word " * 100 + "needle " + "word " * 100)
    hit = store.search("needle", highlight=("<b>", "</b>"))[0]
    assert "<b>needle</b>" in hit.snippet
    assert "…" in hit.snippet
    assert len(hit.snippet) < 200


def test_diacritics_and_unicode(store: Store) -> None:
    chat = store.create_conversation("Café crème")
    store.append_message(chat.id, "user", "日本語 テキスト and naïve façade")
    assert [h.conversation_id for h in store.search("cafe")] == [chat.id]
    assert store.search("naive facade")
    assert store.search("日本語")


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"unbalanced',
        "*",
        "-",
        "- -x",
        "NEAR(a b)",
        "a NEAR b",
        "AND",
        "OR OR",
        "NOT",
        "col:value",
        "^start",
        "(((",
        "a + b",
        "{x}",
        "'; DROP TABLE messages; --",
        "\x00",
        "",
        "   ",
        "🙂",
        "ünïcödé*",
    ],
)
def test_hostile_queries_never_raise(store: Store, query: str) -> None:
    chat = store.create_conversation("NEAR AND OR NOT")
    store.append_message(chat.id, "user", "a b value start x ünïcödé DROP TABLE messages")
    hits = store.search(query)
    assert isinstance(hits, list)
    assert store.count_messages() == 1


def test_operator_words_are_searched_as_words(store: Store) -> None:
    chat = store.create_conversation("logic")
    message = store.append_message(chat.id, "user", "true OR false")
    store.append_message(chat.id, "user", "true and also false")
    assert [h.message_id for h in store.search("true OR false")] == [message.id]


def test_index_follows_renames_edits_and_streaming(store: Store) -> None:
    chat = store.create_conversation("alpha")
    store.rename_conversation(chat.id, "beta")
    assert store.search("alpha") == []
    assert [h.conversation_id for h in store.search("beta")] == [chat.id]
    reply = store.append_message(chat.id, "assistant", "", status="streaming")
    store.update_message(reply.id, content="gamma rays")
    assert store.search("gamma") == []  # not indexed while streaming
    store.update_message(reply.id, status="interrupted")
    assert [h.message_id for h in store.search("gamma")] == [reply.id]
    store.update_message(reply.id, content="delta waves")
    assert store.search("gamma") == []
    assert [h.message_id for h in store.search("delta")] == [reply.id]
    store.delete_message(reply.id)
    assert store.search("delta") == []
    integrity = store._db.execute(
        "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)"
    )
    assert integrity is not None


def test_limit(store: Store) -> None:
    chat = store.create_conversation("chat")
    for n in range(30):
        store.append_message(chat.id, "user", f"repeat {n}")
    assert len(store.search("repeat")) == 20
    assert len(store.search("repeat", limit=5)) == 5
    assert store.search("repeat", limit=0) == []


def test_chinese_japanese_and_korean_are_found_inside_their_sentences(store: Store) -> None:
    """No space separates their words, so a sentence was one token of the index and a
    search found only what began a sentence (灯塔 in 我昨天在灯塔...: nothing)."""
    chat = store.create_conversation("去海边的计划")
    chinese = store.append_message(chat.id, "user", "我昨天在灯塔看守人的小屋里喝茶。")
    japanese = store.append_message(chat.id, "user", "旅行ガイドを読んでから京都へ行きました。")
    korean = store.append_message(chat.id, "user", "저는 학교에서 한국어를 공부했어요.")
    mixed = store.append_message(chat.id, "user", "We trained the GPT模型 on notes.")
    found = {query: store.search(query) for query in ("灯塔看守", "ガイド", "학교", "模型 trained")}
    assert [h.message_id for h in found["灯塔看守"]] == [chinese.id]
    assert found["灯塔看守"][0].snippet.startswith("我昨天在[灯塔看守]人")
    assert [h.message_id for h in found["ガイド"]] == [japanese.id]  # the voicing mark kept
    assert [h.message_id for h in found["학교"]] == [korean.id]
    assert [h.message_id for h in found["模型 trained"]] == [mixed.id]
    assert store.search("海边")[0].snippet == "去[海边]的计划"  # the title
    assert store.search("灯看") == []  # the characters in a row, not apart
