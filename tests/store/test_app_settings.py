"""App-wide settings: JSON values by key."""

from __future__ import annotations

import pytest

from chatdesk.store import InvalidValueError, Store


def test_round_trip_and_default(store: Store, db_path) -> None:
    assert store.get_setting("theme") is None
    assert store.get_setting("theme", "dark") == "dark"
    store.set_setting("theme", "light")
    store.set_setting("window", {"width": 900, "splitter": [1, 2], "name": "ü"})
    store.set_setting("theme", "solarized")
    with Store(db_path) as other:
        assert other.get_setting("theme") == "solarized"
        assert other.get_setting("window") == {"width": 900, "splitter": [1, 2], "name": "ü"}
    store.delete_setting("theme")
    assert store.get_setting("theme", 0) == 0


def test_values_must_be_json(store: Store) -> None:
    with pytest.raises(InvalidValueError):
        store.set_setting("bad", object())
    with pytest.raises(InvalidValueError):
        store.set_setting("bad", float("inf"))
    assert store.get_setting("bad") is None
