"""The RAM and disk the engine may use for kept conversation KV states: one setting each,
checked, saved, and carried into every load (issue 25)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.services.engine_session import load_options
from chatdesk.services.settings import SettingsError, SettingsService
from chatdesk.store import Store


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[SettingsService]:
    with Store(tmp_path / "s.db") as store:
        yield SettingsService(store)


def test_defaults_are_one_gigabyte_of_ram_and_four_of_disk(settings: SettingsService) -> None:
    assert settings.state_cache_limits() == {"state_cache_mb": 1024, "state_disk_mb": 4096}


def test_a_changed_budget_is_kept_and_reaches_the_load_options(settings: SettingsService) -> None:
    settings.set_state_cache_limits(state_cache_mb=256, state_disk_mb=0)
    limits = settings.state_cache_limits()
    assert limits == {"state_cache_mb": 256, "state_disk_mb": 0}
    options = load_options("/models/x.gguf", {}, limits)
    assert (options.state_cache_mb, options.state_disk_mb) == (256, 0)


@pytest.mark.parametrize("value", [-1, 1.5, "lots", True])
def test_a_bad_budget_is_refused_and_changes_nothing(
    settings: SettingsService, value: object
) -> None:
    with pytest.raises(SettingsError):
        settings.set_state_cache_limits(state_disk_mb=value)  # type: ignore[arg-type]
    assert settings.state_cache_limits()["state_disk_mb"] == 4096


def test_the_command_line_shows_and_changes_the_budgets(capsys: pytest.CaptureFixture[str]) -> None:
    from chatdesk.cli.main import main

    assert main(["kv-cache", "--ram-mb", "512", "--disk-mb", "0"]) == 0
    assert main(["kv-cache"]) == 0
    out = capsys.readouterr().out
    assert "RAM for kept conversation states: 512 MB" in out
    assert "disk for them: 0 MB" in out
    assert main(["kv-cache", "--disk-mb", "-1"]) == 1
    assert "state_disk_mb must be between 0 and 999999" in capsys.readouterr().err
