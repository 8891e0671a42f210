"""The ``--logprobs`` table, and OpenAI's logprobs object both ways."""

from __future__ import annotations

import math

import pytest

from chatdesk.engine.types import Alternative, TokenChoice
from chatdesk.probabilities.codec import ProbabilityFormatError
from chatdesk.probabilities.formats import (
    choices_from_openai,
    openai_logprobs,
    requested_alternatives,
    table,
)

CHOICES = [
    TokenChoice(1, "The", 0.5, 1.0, (Alternative(1, "The", 0.5), Alternative(2, "A", 0.25))),
    TokenChoice(3, " café\n", 0.0, 1.0, (Alternative(4, " tea", 0.9),)),
]


def test_table_has_one_line_per_token_with_alternatives() -> None:
    lines = table(CHOICES).splitlines()
    assert lines[0].split() == ["#", "token", "prob", "alternatives"]
    assert lines[1].split() == ["1", '"The"', "50.0%", '"The"', "50.0%", '"A"', "25.0%"]
    assert '" café\\n"' in lines[2]
    assert lines[2].rstrip().endswith('" tea" 90.0%')


def test_openai_object_shape() -> None:
    data = openai_logprobs(CHOICES, top_logprobs=1)
    first = data["content"][0]
    assert first["token"] == "The"
    assert first["logprob"] == pytest.approx(math.log(0.5))
    assert first["bytes"] == [84, 104, 101]
    assert first["top_logprobs"] == [
        {"token": "The", "logprob": math.log(0.5), "bytes": [84, 104, 101]}
    ]
    assert data["content"][1]["logprob"] == -9999.0
    assert openai_logprobs(CHOICES)["content"][0]["top_logprobs"] == []


def test_openai_object_reads_back() -> None:
    ids: dict[str, int] = {}
    back = choices_from_openai(openai_logprobs(CHOICES, top_logprobs=5), ids)
    assert [c.text for c in back] == ["The", " café\n"]
    assert back[0].probability == pytest.approx(0.5)
    assert [(a.text, a.probability) for a in back[0].top] == [("The", 0.5), ("A", 0.25)]
    assert back[0].token == back[0].top[0].token
    assert len(set(ids.values())) == len(ids)


@pytest.mark.parametrize(
    "bad",
    [
        None,
        {"content": "x"},
        {"content": [{"token": 1, "logprob": -1}]},
        {"content": [{"token": "a", "logprob": 3}]},
    ],
)
def test_bad_openai_objects_are_refused(bad: object) -> None:
    with pytest.raises(ProbabilityFormatError, match="logprobs"):
        choices_from_openai(bad)


def test_what_an_openai_request_asks_the_engine_for() -> None:
    assert requested_alternatives(None, 5) == 0
    assert requested_alternatives(False, 5) == 0
    assert requested_alternatives(True, None) == 1
    assert requested_alternatives(True, 5) == 5
    assert requested_alternatives(True, 50) == 20
