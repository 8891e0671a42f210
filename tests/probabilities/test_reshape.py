"""The temperature explorer's math: the engine's truncations and temperature on stored top-N."""

from __future__ import annotations

import math

import pytest

from chatdesk.engine.types import Alternative
from chatdesk.probabilities.reshape import Shaping, reshape

TOP = [Alternative(i, f"t{i}", p) for i, p in enumerate([0.5, 0.2, 0.1, 0.05, 0.05])]  # 0.9


def shaped(**settings: float) -> list[float]:
    return list(reshape(TOP, Shaping(**settings)).probabilities)  # type: ignore[arg-type]


def test_neutral_settings_renormalise_over_the_stored_tokens_and_say_so() -> None:
    result = reshape(TOP, Shaping())
    assert result.probabilities == pytest.approx(
        [0.5 / 0.9, 0.2 / 0.9, 0.1 / 0.9, 0.05 / 0.9, 0.05 / 0.9]
    )
    assert result.outside == pytest.approx(0.1)
    assert not result.exact


def test_temperature_sharpens_below_one_and_flattens_above() -> None:
    cold, warm = shaped(temperature=0.5, top_k=5), shaped(temperature=2.0, top_k=5)
    assert cold[0] > 0.5 / 0.9 > warm[0]
    assert cold[0] == pytest.approx(0.25 / (0.25 + 0.04 + 0.01 + 0.0025 + 0.0025))
    assert warm[-1] > shaped(top_k=5)[-1]
    assert sum(cold) == pytest.approx(1)


def test_temperature_zero_is_greedy() -> None:
    result = reshape(TOP, Shaping(temperature=0.0))
    assert result.probabilities == (1.0, 0.0, 0.0, 0.0, 0.0)
    assert result.exact


def test_top_k_keeps_the_k_most_probable_exactly() -> None:
    result = reshape(TOP, Shaping(top_k=2))
    assert result.probabilities == pytest.approx([5 / 7, 2 / 7, 0, 0, 0])
    assert result.exact


def test_top_p_includes_the_token_that_crosses_it() -> None:
    # true probabilities (the tail's 0.1 counts): 0.5, then 0.7 >= 0.6 with the second token
    assert shaped(top_p=0.6) == pytest.approx([5 / 7, 2 / 7, 0, 0, 0])
    assert reshape(TOP, Shaping(top_p=0.6)).exact
    # after top-k 3 the cumulative share is renormalised over those three: 0.625 >= 0.6
    assert shaped(top_k=3, top_p=0.6) == pytest.approx([1, 0, 0, 0, 0])


def test_min_p_cuts_relative_to_the_favourite() -> None:
    result = reshape(TOP, Shaping(min_p=0.2))  # floor 0.1: keeps 0.5, 0.2, 0.1
    assert result.probabilities == pytest.approx([0.625, 0.25, 0.125, 0, 0])
    assert result.exact  # the tail is below 0.05 < 0.1


def test_shaped_probabilities_always_sum_to_one() -> None:
    for temperature in (0.1, 0.7, 1.0, 1.9):
        for top_p in (0.3, 0.95, 1.0):
            values = shaped(temperature=temperature, top_p=top_p, min_p=0.05)
            assert math.fsum(values) == pytest.approx(1)
            assert values == sorted(values, reverse=True)
