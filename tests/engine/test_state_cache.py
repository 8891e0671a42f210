"""The saved-KV-state cache: bounded by bytes, least recently used goes first."""

from __future__ import annotations

import os
from pathlib import Path

from chatdesk.engine.host.state_cache import DiskStates, SavedState, StateCache


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


def test_disk_states_round_trip_and_stay_within_budget(tmp_path: Path) -> None:
    disk = DiskStates(tmp_path / "kv", max_bytes=2500)
    first = SavedState(tokens=(1, 2), data=b"x" * 1000, pieces=(b"a", "你".encode()))
    disk.save("conversation-1", first)
    assert disk.load("conversation-1") == first
    assert disk.load("unknown") is None
    disk.save("conversation-2", state(1000))
    os.utime(disk._path("conversation-1"), (1, 1))  # the oldest
    disk.save("conversation-3", state(1000))
    assert disk.load("conversation-1") is None
    assert disk.load("conversation-3") is not None


def test_damaged_state_file_is_ignored_and_removed(tmp_path: Path) -> None:
    disk = DiskStates(tmp_path / "kv", max_bytes=10**6)
    disk.save("c", SavedState(tokens=(1,), data=b"data", pieces=(b"a",)))
    path = disk._path("c")
    path.write_bytes(path.read_bytes()[:20])
    assert disk.load("c") is None
    assert not path.exists()


def test_states_of_another_model_file_live_elsewhere(tmp_path: Path) -> None:
    one, two = tmp_path / "one.gguf", tmp_path / "two.gguf"
    one.write_bytes(b"1")
    two.write_bytes(b"22")
    assert DiskStates.folder_for(tmp_path, one) != DiskStates.folder_for(tmp_path, two)
