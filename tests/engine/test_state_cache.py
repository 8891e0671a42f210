"""The saved-KV-state cache: bounded by bytes, least recently used goes first."""

from __future__ import annotations

from chatdesk.engine.host.state_cache import SavedState, StateCache


def state(size: int) -> SavedState:
    return SavedState(tokens=(), data=bytes(size))


def test_least_recently_used_state_is_evicted_when_over_budget() -> None:
    cache = StateCache(max_bytes=300)
    cache.put("a", state(100))
    cache.put("b", state(100))
    cache.put("c", state(100))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("d", state(100))
    assert "b" not in cache
    assert {key for key in "acd" if key in cache} == {"a", "c", "d"}
    assert cache.total_bytes == 300


def test_replacing_a_key_does_not_count_it_twice() -> None:
    cache = StateCache(max_bytes=250)
    cache.put("a", state(100))
    cache.put("a", state(120))
    cache.put("b", state(100))
    assert len(cache) == 2
    assert cache.total_bytes == 220


def test_a_state_larger_than_the_budget_is_refused() -> None:
    cache = StateCache(max_bytes=50)
    assert not cache.put("a", state(100))
    assert len(cache) == 0
    assert cache.total_bytes == 0


def test_tokens_count_towards_the_size() -> None:
    assert SavedState(tokens=(1, 2, 3), data=b"xx").size == 2 + 3 * 8
