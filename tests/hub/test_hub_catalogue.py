"""The curated catalogue: valid data, and a sensible pick for machines of different sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatdesk.hub.catalogue import load_catalogue, recommended_model
from chatdesk.hub.errors import CatalogueError
from chatdesk.hub.names import check_repo_id
from chatdesk.hub.speed import (
    COMFORTABLE_TOKENS_PER_SECOND,
    expected_tokens_per_second,
    machine_bandwidth,
    speed_text,
)
from chatdesk.hub.system import GIB, Fit, MachineMemory, _linux_ram, estimate_fit


def test_shipped_catalogue_is_valid_and_covers_laptop_sizes() -> None:
    models = load_catalogue()

    assert 10 <= len(models) <= 16
    params = [model.parameters for model in models]
    assert min(params) < 1e9
    assert 7e9 < max(params) <= 8.5e9
    for model in models:
        check_repo_id(model.repo_id)
        assert model.default_file.filename.endswith(".gguf")
        assert model.license
        assert model.context_length >= 2048


@pytest.mark.parametrize(
    ("ram_gib", "largest_billions"),
    [(4, 3.0), (8, 4.1), (16, 8.5), (64, 8.5)],
)
def test_recommendation_grows_with_memory(ram_gib: int, largest_billions: float) -> None:
    memory = MachineMemory(total_ram=ram_gib * GIB, available_ram=ram_gib * GIB * 3 // 4)

    model = recommended_model(load_catalogue(), memory)

    assert model is not None
    assert model.parameters <= largest_billions * 1e9
    assert estimate_fit(model.default_file.approx_size_bytes, memory) == Fit.FITS


def test_a_slow_laptop_is_not_recommended_an_8b_model_it_would_run_at_2_tokens_per_second() -> None:
    laptop = MachineMemory(total_ram=16 * GIB, available_ram=12 * GIB)
    models = load_catalogue()
    slow_ram = 6e9  # bytes/s: a 2-core laptop with one memory channel
    model = recommended_model(models, laptop, slow_ram)
    assert model is not None
    size = model.default_file.approx_size_bytes
    assert expected_tokens_per_second(size, slow_ram) >= COMFORTABLE_TOKENS_PER_SECOND
    assert model.parameters < 4e9
    assert recommended_model(models, laptop) is not None  # memory alone picks an 8B model
    assert recommended_model(models, laptop).parameters > 7e9  # type: ignore[union-attr]
    fast = recommended_model(models, laptop, 60e9)  # a desktop with fast memory
    assert fast is not None
    assert fast.parameters > 7e9


def test_when_nothing_is_comfortably_fast_the_fastest_fitting_model_is_recommended() -> None:
    laptop = MachineMemory(total_ram=16 * GIB, available_ram=12 * GIB)
    models = load_catalogue()
    model = recommended_model(models, laptop, 1e9)
    smallest = min(models, key=lambda m: m.default_file.approx_size_bytes)
    assert model is smallest


def test_speed_estimate_is_bandwidth_over_size_and_reads_naturally() -> None:
    assert expected_tokens_per_second(1_000_000_000, 20e9) == pytest.approx(14.0)
    assert speed_text(14.0) == "about 14 tokens/s"
    assert speed_text(1.44) == "about 1.4 tokens/s"
    assert speed_text(231.0) == "about 230 tokens/s"
    gpu = MachineMemory(total_ram=16 * GIB, available_ram=12 * GIB, vram=8 * GIB)
    assert expected_tokens_per_second(4 * GIB, 10e9, gpu) > expected_tokens_per_second(
        4 * GIB, 10e9
    )


def test_bandwidth_is_measured_once_and_cached(tmp_path: Path) -> None:
    first = machine_bandwidth(tmp_path)
    assert 1e8 <= first.bytes_per_second <= 1e13
    assert json.loads((tmp_path / "machine-speed.json").read_text())["bytes_per_second"] == (
        first.bytes_per_second
    )
    assert machine_bandwidth(tmp_path) == first  # read back, not measured again
    (tmp_path / "machine-speed.json").write_text('{"bytes_per_second": "fast"}')
    assert machine_bandwidth(tmp_path).bytes_per_second >= 1e8  # a bad cache is measured anew


def test_recommendation_on_a_tiny_machine_is_none() -> None:
    assert recommended_model(load_catalogue(), MachineMemory(GIB, GIB // 2)) is None


def test_fit_levels() -> None:
    memory = MachineMemory(total_ram=16 * GIB, available_ram=8 * GIB)
    assert estimate_fit(4 * GIB, memory) == Fit.FITS
    assert estimate_fit(10 * GIB, memory) == Fit.TIGHT
    assert estimate_fit(20 * GIB, memory) == Fit.WONT_FIT
    with_gpu = MachineMemory(total_ram=16 * GIB, available_ram=8 * GIB, vram=8 * GIB)
    assert estimate_fit(10 * GIB, with_gpu) == Fit.FITS


def test_meminfo_parsing(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(
        "MemTotal:       16384000 kB\nMemFree:  100 kB\nMemAvailable:    8192000 kB\n"
    )
    assert _linux_ram(meminfo) == (16384000 * 1024, 8192000 * 1024)


def write_catalogue(tmp_path: Path, models: list[dict[str, object]]) -> Path:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps({"version": 1, "models": models}))
    return path


def good_entry() -> dict[str, object]:
    return {
        "id": "m",
        "name": "M",
        "repo_id": "a/M-GGUF",
        "parameters": 10**9,
        "context_length": 4096,
        "license": "mit",
        "description": "d",
        "default_quantization": "Q4_K_M",
        "files": [
            {"quantization": "Q4_K_M", "filename": "m-Q4_K_M.gguf", "approx_size_bytes": 10**8}
        ],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"repo_id": "../etc"}, "repository id"),
        ({"parameters": "big"}, "parameters"),
        ({"default_quantization": "Q8_0"}, "default quantisation"),
        (
            {
                "files": [
                    {"quantization": "Q8_0", "filename": "m-Q4_K_M.gguf", "approx_size_bytes": 1}
                ]
            },
            "is not Q8_0",
        ),
        (
            {
                "files": [
                    {
                        "quantization": "Q4_K_M",
                        "filename": "../m-Q4_K_M.gguf",
                        "approx_size_bytes": 1,
                    }
                ]
            },
            "unsafe",
        ),
        ({"files": []}, "empty"),
    ],
)
def test_malformed_catalogue_entries_are_named(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    entry = good_entry() | change
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(write_catalogue(tmp_path, [entry]))


def test_unreadable_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text("{not json")
    with pytest.raises(CatalogueError, match="cannot read model catalogue"):
        load_catalogue(path)
    assert load_catalogue(write_catalogue(tmp_path, [good_entry()]))[0].repo_id == "a/M-GGUF"
