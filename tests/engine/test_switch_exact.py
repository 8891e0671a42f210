"""Switching back costs nothing, and changes nothing (issue 25): a Send after a complete
warm samples from the warm's logits and reuses its render and tokens, and the reply is
token for token the one the prompt gets when its last token is evaluated again; stale
logits (after a reply, a switch, a shorter prompt) are never used."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.host.prompt_memo import Memo, reads_clock
from chatdesk.engine.types import ReplyStats, SamplingSettings
from chatdesk.services.warming import warm_request
from tests.engine.conftest import loaded_engine
from tests.support.chat_requests import chat

needs_llama = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)
SAMPLING = SamplingSettings(temperature=0.0, max_tokens=12, ignore_eos=True, logprobs=1)
QUESTION = "And which one was the tallest?"


@pytest.fixture(scope="module")
def engine(starter_model_path: Path) -> Iterator[EngineClient]:
    """The real starter model in a host of its own (the tests switch conversations)."""
    yield from loaded_engine(starter_model_path, 1)


def ask(
    engine: EngineClient, messages: list[dict[str, str]], key: str
) -> tuple[list[tuple[int, float]], ReplyStats]:
    """The reply's tokens with their probabilities, and its figures."""
    stream = engine.generate(chat(messages, sampling=SAMPLING, conversation_key=key))
    stats = stream.wait(timeout=120)
    return [(choice.token, choice.probability) for choice in stream.choices], stats


def history(topic: str) -> list[dict[str, str]]:
    return [
        {"role": "user", "content": f"Tell me about {topic}: the towers, the bridges. " * 16},
        {"role": "assistant", "content": f"Sure. {topic} has three towers and two bridges."},
    ]


@needs_llama
def test_send_after_a_complete_warm_gives_the_reply_of_a_fresh_evaluation(
    engine: EngineClient,
) -> None:
    a, b = history("Lisbon"), history("Porto")
    ask(engine, b, "exact-B")  # A is new: the warm reads it all, in one large batch
    request = warm_request(chat(a, sampling=SAMPLING, conversation_key="exact-A"), QUESTION)
    assert request is not None
    engine.warm(request).result(60)
    asked = [*a, {"role": "user", "content": QUESTION}]
    warmed, stats = ask(engine, asked, "exact-A")
    assert stats.evaluated_prompt_tokens == 0
    again, regenerated = ask(engine, asked, "exact-A")  # the reply's decode moved the logits on
    assert regenerated.evaluated_prompt_tokens == 1
    ask(engine, b, "exact-B")
    back, returned = ask(engine, asked, "exact-A")  # the restore left other logits behind
    assert returned.evaluated_prompt_tokens == 1
    assert warmed == again == back  # the same tokens with the same probabilities, exactly
    assert len(warmed) == SAMPLING.max_tokens


@needs_llama
def test_a_prompt_stopping_short_of_the_warmed_one_evaluates_its_last_token(
    engine: EngineClient,
) -> None:
    asked = [*history("Faro"), {"role": "user", "content": QUESTION}]
    engine.warm(chat(asked, sampling=SAMPLING, conversation_key="short-A")).result(60)
    request = chat(asked, sampling=SAMPLING, conversation_key="short-A")
    unopened = dataclasses.replace(request, add_generation_prompt=False)  # a prefix of it
    replies = []
    for _ in range(2):  # the second time, the first reply's tokens are cut off again
        stream = engine.generate(unopened)
        stats = stream.wait(timeout=120)
        assert stats.evaluated_prompt_tokens == 1  # not the warm's logits of a later token
        replies.append([(choice.token, choice.probability) for choice in stream.choices])
    assert replies[0] == replies[1]


@needs_llama
def test_changed_messages_are_rendered_again(engine: EngineClient) -> None:
    a = [{"role": "user", "content": "Name a colour."}]
    first = engine.render(chat(a, sampling=SAMPLING)).result(30)
    changed = engine.render(chat([{"role": "user", "content": "Name a fruit."}])).result(30)
    assert "fruit" in changed.text
    assert "colour" not in changed.text
    assert engine.render(chat(a, sampling=SAMPLING)).result(30) == first


def test_a_memo_answers_equal_keys_only_and_forgets_the_oldest() -> None:
    computed: list[str] = []

    def compute(value: str) -> str:
        computed.append(value)
        return value.upper()

    memo: Memo[str] = Memo(size=2)
    assert memo.get(("a", 1), lambda: compute("a")) == "A"
    assert memo.get(("a", 1), lambda: compute("x")) == "A"  # equal key: remembered
    assert memo.get(("a", 2), lambda: compute("b")) == "B"
    assert memo.get(("c", 1), lambda: compute("c")) == "C"  # ("a", 1) is forgotten
    assert memo.get(("a", 1), lambda: compute("a")) == "A"
    assert computed == ["a", "b", "c", "a"]
    assert memo.hits == 1


def test_templates_that_read_the_clock_are_never_remembered() -> None:
    assert reads_clock("{{ strftime_now('%d %b %Y') }}")
    assert not reads_clock("{% for m in messages %}{{ m.content }}{% endfor %}")
