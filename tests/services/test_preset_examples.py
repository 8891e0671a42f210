"""Presets carry few-shot examples: the built-in ones, and the user's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.services.settings import BUILTIN_PRESETS, SettingsError, SettingsService
from chatdesk.store import Store


@pytest.fixture
def service(tmp_path: Path) -> Iterator[SettingsService]:
    with Store(tmp_path / "chatdesk.db") as store:
        yield SettingsService(store)


def test_builtin_presets_with_examples() -> None:
    by_name = {preset.name: preset for preset in BUILTIN_PRESETS}
    translation = by_name["Translate to French"]
    assert len(translation.examples) == 2
    assert all(pair["user"] and pair["assistant"] for pair in translation.examples)
    maths = by_name["Maths step by step"]
    assert len(maths.examples) == 1
    assert "Step 1" in maths.examples[0]["assistant"]
    assert maths.examples[0]["assistant"].splitlines()[-1].startswith("Answer:")


def test_user_presets_keep_their_examples(service: SettingsService) -> None:
    pairs = ({"user": "2+2?", "assistant": "Step 1: 2+2 = 4\nAnswer: 4"},)
    service.save_preset("Sums", {"temperature": 0.1}, "Count.", pairs)
    assert service.preset("Sums").examples == pairs
    service.save_preset("Plain", {}, "Hi.")
    assert service.preset("Plain").examples == ()


def test_bad_examples_are_refused(service: SettingsService) -> None:
    with pytest.raises(SettingsError, match="example 1 needs a user and an assistant"):
        service.save_preset("Broken", {}, "", [{"user": "only a question"}])
    with pytest.raises(KeyError):
        service.preset("Broken")
