"""Choosing the context length: trained length capped at 8192 and by free memory."""

from __future__ import annotations

import pytest

from chatdesk.engine.host.memory import ContextTooLarge, KVShape, choose_context

SHAPE = KVShape(n_layer=24, n_embd=896, n_head=14, n_head_kv=2)  # 24 KiB per token
GIB = 1024**3


def test_kv_bytes_per_token_accounts_for_grouped_query_heads() -> None:
    assert SHAPE.bytes_per_token == 2 * 24 * (64 * 2) * 2


def test_default_is_the_trained_length_when_small() -> None:
    assert choose_context(None, 2048, SHAPE, 16 * GIB) == 2048


def test_default_is_capped_at_8192() -> None:
    assert choose_context(None, 131072, SHAPE, 16 * GIB) == 8192


def test_absurd_trained_length_is_never_allocated() -> None:
    assert choose_context(None, 2**40, SHAPE, 16 * GIB) == 8192


def test_default_shrinks_to_what_memory_allows() -> None:
    available = 100 * SHAPE.bytes_per_token * 2 * 10  # room for 1000 tokens at half of it
    chosen = choose_context(None, 8192, SHAPE, available)
    assert chosen <= 1000
    assert chosen % 256 == 0


def test_explicit_request_is_honoured_when_it_fits() -> None:
    assert choose_context(3000, 2048, SHAPE, 16 * GIB) == 3000


def test_explicit_request_beyond_memory_is_a_clear_error() -> None:
    with pytest.raises(ContextTooLarge, match=r"needs .* GiB .* only .* available"):
        choose_context(10**7, 8192, SHAPE, 1 * GIB)


def test_no_memory_at_all_is_a_clear_error() -> None:
    with pytest.raises(ContextTooLarge, match="not enough free memory"):
        choose_context(None, 8192, SHAPE, 1024)
