"""Matching a new prompt against what the KV cache holds, by token text."""

from __future__ import annotations

from chatdesk.engine.host.kv_context import KVContext, common_prefix, reply_pieces


def test_common_prefix() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([1, 2], [1, 2]) == 2


def test_cached_tokens_that_spell_the_prompt_start_are_kept() -> None:
    kv = KVContext([1, 2, 3], [b"<s>", b"Hel", b"lo"])
    assert kv.match_text(b"<s>Hello, world") == (3, 8)
    assert kv.match_text(b"<s>Help") == (2, 6)
    assert kv.match_text(b"nothing") == (0, 0)


def test_match_never_ends_inside_a_character() -> None:
    word = "你好".encode()
    kv = KVContext([1, 2, 3], [word[:2], word[2:4], word[4:]])  # byte tokens
    assert kv.match_text("你好".encode()) == (3, 6)
    assert kv.match_text("你X".encode())[1] == 0


def test_tokens_without_text_are_kept_only_when_the_text_goes_on_matching() -> None:
    kv = KVContext([1, 2, 3, 4], [b"a", b"", b"b", b""])
    assert kv.match_text(b"abc") == (3, 2)
    assert kv.match_text(b"ax") == (1, 1)


def test_reply_pieces_spell_the_reply_as_shown() -> None:
    raw = [b" ", b" Hi", b" \xe4\xbd", b"\xa0", b"\xff", b"!"]
    pieces = reply_pieces(raw)
    assert b"".join(pieces).decode() == "Hi 你\ufffd!"
    assert pieces[2] == b" "  # the incomplete character belongs to the token completing it
