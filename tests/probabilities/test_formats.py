"""The ``--logprobs`` table, and OpenAI's logprobs object both ways."""

from __future__ import annotations

import math

import pytest

from chatdesk.engine.types import Alternative, TokenChoice
from chatdesk.probabilities.codec import ProbabilityFormatError
from chatdesk.probabilities.formats import (
    LegacyLogprobs,
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


DRAGON = "🐉".encode()  # split over two byte-fallback tokens, as on a small vocabulary
SPLIT = [
    TokenChoice(
        7, "\ufffd", 0.5, 1.0, (Alternative(7, "\ufffd", 0.5, DRAGON[:2]),), raw=DRAGON[:2]
    ),
    TokenChoice(8, "\ufffd", 0.9, 1.0, raw=DRAGON[2:]),
    TokenChoice(9, "!", 0.9, 1.0),
]


def test_openai_bytes_are_each_tokens_own() -> None:
    """QA: every byte-fallback token came back with the bytes of U+FFFD."""
    content = openai_logprobs(SPLIT, top_logprobs=1)["content"]
    assert b"".join(bytes(t["bytes"]) for t in content).decode() == "🐉!"
    assert content[0]["top_logprobs"][0]["bytes"] == list(DRAGON[:2])


def test_raw_bytes_cross_the_pipe_and_a_remote_servers_are_kept() -> None:
    assert [TokenChoice.from_wire(c.to_wire()) for c in SPLIT] == SPLIT
    assert SPLIT[2].to_wire() == [9, "!", 0.9, 1.0, [], []]  # as before: no raw field
    back = choices_from_openai(openai_logprobs(SPLIT, top_logprobs=1))
    assert [c.piece for c in back] == [DRAGON[:2], DRAGON[2:], b"!"]
    assert back[0].top[0].raw == DRAGON[:2]
    assert back[0].token != back[1].token  # two tokens, though both read "\ufffd"


def test_legacy_completions_object_counts_offsets_in_characters() -> None:
    legacy = LegacyLogprobs(1, offset=4)
    first, rest = legacy.of(SPLIT[:1]), legacy.of(SPLIT[1:])
    assert first == {
        "tokens": ["\ufffd"],
        "token_logprobs": [math.log(0.5)],
        "top_logprobs": [{"\ufffd": math.log(0.5)}],
        "text_offset": [4],
    }
    assert rest["text_offset"] == [4, 5]  # the dragon is one character
    assert rest["top_logprobs"] == [{}, {}]
