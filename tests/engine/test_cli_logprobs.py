"""``chatdesk ask --logprobs N`` (a table) and ``--json`` (one object), on the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatdesk.store import Store
from tests.engine.test_cli_engine import assert_one_line_error, chatdesk

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow
GREEDY = ("--temperature", "0", "--repeat-penalty", "1", "--max-tokens", "8")
QUESTION = "What is the capital of France? Answer in one word."
SYSTEM = ("--system", "You are a helpful assistant.")


def test_ask_logprobs_prints_a_table_after_the_reply(starter_model_path: Path) -> None:
    result = chatdesk("ask", str(starter_model_path), QUESTION, *SYSTEM, *GREEDY, "--logprobs", "3")
    assert result.returncode == 0, result.stderr
    reply, table = result.stdout.split("\n\n", 1)
    assert "Paris" in reply
    lines = table.strip().splitlines()
    assert lines[0].split() == ["#", "token", "prob", "alternatives"]
    paris = next(line for line in lines if '" Paris"' in line.split("%")[0])
    assert paris.count("%") == 4  # its own probability and three alternatives
    with Store() as store:
        [conversation] = store.list_conversations()
        kept = store.token_probabilities(store.active_path(conversation.id)[-1].id)
    assert kept is not None
    assert len(kept) == len(lines) - 1


def test_ask_json_gives_one_object_with_the_tokens(starter_model_path: Path) -> None:
    result = chatdesk(
        "ask", str(starter_model_path), QUESTION, *SYSTEM, *GREEDY, "--logprobs", "2", "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "Paris" in data["text"]
    tokens = data["tokens"]
    assert "".join(t["token"] for t in tokens).strip() == data["text"]
    for token in tokens:
        assert set(token) >= {"token", "probability", "top"}
        assert len(token["top"]) == 2
        probabilities = [t["probability"] for t in token["top"]]
        assert probabilities == sorted(probabilities, reverse=True)
        assert token["probability"] == token["top"][0]["probability"]  # greedy: the favourite


def test_ask_logprobs_out_of_range_is_one_line(tiny_model_path: Path) -> None:
    assert_one_line_error(
        chatdesk("ask", str(tiny_model_path), "hi", "--logprobs", "21"), "1 to 20"
    )
