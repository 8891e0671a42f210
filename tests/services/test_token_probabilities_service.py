"""Collecting a reply's token probabilities, and branching from an alternative."""

from __future__ import annotations

import pytest

from chatdesk.engine.types import Alternative, TextDelta, TokenChoice, TokenProbabilities
from chatdesk.services.token_probabilities import ProbabilityCollector, branch_from

L = Alternative(4, " L", 0.02)
CHOICES = [
    TokenChoice(1, "The", 0.9, 1.0, (Alternative(1, "The", 0.9),)),
    TokenChoice(2, " answer", 0.8, 1.0, (Alternative(2, " answer", 0.8),)),
    TokenChoice(3, " Paris", 0.94, 0.97, (Alternative(3, " Paris", 0.94), L), (
        Alternative(3, " Paris", 0.97), Alternative(4, " L", 0.03))),
]  # fmt: skip


def test_collector_keeps_only_probability_events_in_order() -> None:
    collect = ProbabilityCollector()
    collect(TokenProbabilities(tuple(CHOICES[:2])))
    collect(TextDelta("The answer"))
    collect(TokenProbabilities(tuple(CHOICES[2:])))
    assert collect.choices == CHOICES


def test_branch_keeps_the_tokens_before_and_takes_the_alternative() -> None:
    branch = branch_from(CHOICES, 2, L)
    assert branch.prefix == "The answer L"
    assert [c.text for c in branch.choices] == ["The", " answer", " L"]
    assert branch.choices[2].probability == 0.02
    assert branch.choices[2].sampled_probability == 0.03
    assert branch.choices[2].top == CHOICES[2].top


def test_branch_at_the_first_token_has_no_leading_blank() -> None:
    assert branch_from(CHOICES, 0, Alternative(9, " A", 0.1)).prefix == "A"
    with pytest.raises(ValueError, match="no token 4"):
        branch_from(CHOICES, 3, L)
