"""Matching a new prompt against what the KV cache holds, by token text."""

from __future__ import annotations

import random

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


def _match_one_by_one(pieces: list[bytes], prompt: bytes) -> tuple[int, int]:
    """The matching as it was written first, piece by piece (the reference)."""
    offset = count = pending = 0
    for piece in pieces:
        if not piece:
            pending += 1
            continue
        if not prompt.startswith(piece, offset):
            break
        offset += len(piece)
        count += pending + 1
        pending = 0
    while count and offset < len(prompt) and (prompt[offset] & 0xC0) == 0x80:
        count -= 1
        offset -= len(pieces[count])
    while count and not pieces[count - 1]:
        count -= 1
    return count, offset


def test_the_fast_matching_agrees_with_matching_piece_by_piece() -> None:
    rng = random.Random(25)
    alphabet = ["a", "b", "你", "é", "<|im_end|>", ""]
    for _ in range(3000):
        pieces = [
            "".join(rng.choices(alphabet, k=rng.randint(0, 2))).encode()
            for _ in range(rng.randint(0, 12))
        ]
        prompt = b"".join(pieces)
        cut = rng.randint(0, len(prompt))
        prompt = prompt[:cut] + "".join(rng.choices(alphabet, k=rng.randint(0, 3))).encode()
        split = [piece[:1] for piece in pieces] if rng.random() < 0.2 else pieces  # byte tokens
        kv = KVContext(list(range(len(split))), list(split))
        assert kv.match_text(prompt) == _match_one_by_one(split, prompt)
        keep = rng.randint(0, len(split))  # as tokens come and go, the index follows
        kv.truncate(keep)
        kv.extend([0, 1], pieces[:2])
        assert kv.match_text(prompt) == _match_one_by_one([*split[:keep], *pieces[:2]], prompt)
        tokens = [rng.randint(0, 3) for _ in range(rng.randint(0, 40))]
        other = tokens[: rng.randint(0, len(tokens))] + [rng.randint(0, 3) for _ in range(5)]
        expected = next(
            (i for i, (x, y) in enumerate(zip(tokens, other, strict=False)) if x != y),
            min(len(tokens), len(other)),
        )
        assert common_prefix(tokens, other) == expected


def test_adopting_the_prompts_tokens_keeps_their_values_and_takes_their_objects() -> None:
    kv = KVContext([int(str(n)) for n in range(1000, 1400)], [b"x"] * 400)
    prompt = [int(str(n)) for n in range(1000, 1400)] + [7, 8]
    kv.adopt(prompt, 300)
    assert kv.tokens == list(range(1000, 1400))
    assert all(a is b for a, b in zip(kv.tokens[:300], prompt, strict=False))
    assert kv.tokens[300] is not prompt[300]  # only the kept prefix is taken
