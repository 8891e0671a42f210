"""Speculative decoding from the prompt: the same reply, fewer model passes where text repeats.

The drafter and the policy are checked on their own; the decode loop with the real starter
model: a rewrite prompt (whose reply copies much of the prompt) must come out token for
token as plain decoding gives it, greedy and sampled, with and without token
probabilities, and the reply's figures say how many tokens were drafted and kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from chatdesk.engine.client import EngineClient, ReplyStream
from chatdesk.engine.host.speculative import (
    DRAFT_MAX,
    MAX_PAYING_SLOPE,
    RETRY_EVERY,
    DraftPolicy,
    NgramDrafter,
    Speculator,
)
from chatdesk.engine.types import EngineError, LoadOptions, SamplingSettings
from tests.support.chat_requests import chat

PASSAGE = (
    "The library opens at nine in the morning and closes at six in the evening. "
    "Members may borrow up to five books at a time for three weeks. Late returns "
    "cost ten cents a day, and lost books must be replaced or paid for. The reading "
    "room on the second floor is quiet at all times; phones must be silent there."
)
REWRITE = [
    {
        "role": "user",
        "content": "Repeat the following text exactly, changing nothing:\n\n" + PASSAGE,
    }
]
CHAT = [{"role": "user", "content": "Tell me a short story about a cat who finds a key."}]


# -- the drafter and the policy ---------------------------------------------------------------


def test_the_drafter_continues_the_latest_earlier_copy_of_the_history_end() -> None:
    drafter = NgramDrafter([1, 2, 3, 4, 5, 9, 1, 2, 3, 7, 8, 6, 1, 2])
    drafts, match = drafter.draft(3)
    assert (drafts, match) == ([3, 7, 8], 2)  # "1 2" last came before "3 7 8"
    drafter.extend([3])
    assert drafter.draft(10) == ([7, 8, 6, 1, 2, 3], 3)  # a 3-token match wins


def test_the_drafter_proposes_nothing_without_a_match() -> None:
    drafter = NgramDrafter([1, 2, 3, 4])
    assert drafter.draft(5) == ([], 0)
    assert NgramDrafter().draft(5) == ([], 0)


def test_the_policy_drafts_while_drafts_are_kept_and_stops_when_they_are_not() -> None:
    policy = DraftPolicy()
    policy.record_single(0.010)
    for _ in range(10):
        assert policy.choose(DRAFT_MAX, 4) > 0
        policy.record(4, 8, 8, 0.014)  # all kept, a batch of 9 costs 1.4 tokens
    assert policy.choose(DRAFT_MAX, 4) >= 8
    for _ in range(40):
        size = policy.choose(DRAFT_MAX, 4)
        if size:
            policy.record(4, size, 0, 0.010 + 0.001 * size)  # nothing kept
    assert policy.choose(DRAFT_MAX, 4) == 0
    assert policy.drafted > policy.accepted > 0


def test_a_stopped_policy_retries_a_small_draft_now_and_then() -> None:
    policy = DraftPolicy()
    policy.record_single(0.010)
    policy.record(2, 4, 0, 0.04)  # nothing kept, and a batch of 5 cost 4 tokens
    policy.record(2, 4, 0, 0.04)
    choices = [policy.choose(DRAFT_MAX, 2) for _ in range(RETRY_EVERY)]
    assert choices[:-1] == [0] * (RETRY_EVERY - 1)
    assert choices[-1] == 2


def test_the_speculator_indexes_the_reply_as_it_grows() -> None:
    speculator = Speculator([5, 6, 7, 8, 9])
    assert speculator.propose(4, 5) == []
    speculator.append(5)
    speculator.append(6)
    assert speculator.propose(4, 7)[:1] == [7]
    assert speculator.propose(0, 7) == []


# -- the decode loop with the real model ------------------------------------------------------


@pytest.fixture(scope="module")
def speculating(starter_model_path: Path) -> Iterator[EngineClient]:
    """The starter model loaded to speculate wherever that is exact ("always"): by default
    ("auto") the host speculates only where its measured batch cost can pay, which a busy
    2-core machine does not (see ``SpeculationGate``), and these tests check exactness."""
    pytest.importorskip("llama_cpp")
    client = EngineClient()
    options = LoadOptions(starter_model_path, n_ctx=2048, n_threads=1, speculation="always")
    client.load(options).result(timeout=300)
    yield client
    client.close()


def generate(engine: EngineClient, settings: SamplingSettings) -> ReplyStream:
    stream = engine.generate(chat(REWRITE, sampling=settings))
    stream.wait(timeout=300)
    return stream


def both_ways(engine: EngineClient, settings: SamplingSettings) -> tuple[ReplyStream, ...]:
    """The reply without and with speculative decoding, both from the cached prompt (a
    prompt evaluated in one large batch gives slightly different first logits than its
    cached prefix plus the last token alone: llama.cpp's numerics, not ours)."""
    generate(engine, replace(settings, max_tokens=1))
    plain = generate(engine, replace(settings, speculative=False))
    fast = generate(engine, replace(settings, speculative=True))
    return plain, fast


@pytest.mark.slow
def test_greedy_replies_are_identical_token_for_token(speculating: EngineClient) -> None:
    settings = SamplingSettings(temperature=0.0, max_tokens=96, logprobs=1)
    plain, fast = both_ways(speculating, settings)
    assert [c.token for c in fast.choices] == [c.token for c in plain.choices]
    assert fast.text == plain.text
    assert PASSAGE[:40] in fast.text  # the model did copy the passage: drafts had work
    stats, plain_stats = fast.wait(), plain.wait()
    assert stats.accepted_tokens > 20
    assert stats.drafted_tokens >= stats.accepted_tokens
    assert plain_stats.drafted_tokens == plain_stats.accepted_tokens == 0
    for ours, theirs in zip(fast.choices, plain.choices, strict=True):
        assert ours.probability == pytest.approx(theirs.probability, abs=1e-6)


@pytest.mark.slow
def test_greedy_text_without_probabilities_is_identical(speculating: EngineClient) -> None:
    plain, fast = both_ways(speculating, SamplingSettings(temperature=0.0, max_tokens=96))
    assert fast.text == plain.text
    assert fast.wait().generated_tokens == plain.wait().generated_tokens
    assert fast.wait().accepted_tokens > 20


@pytest.mark.slow
def test_a_sampled_reply_is_the_one_plain_decoding_draws_with_the_same_seed(
    speculating: EngineClient,
) -> None:
    settings = SamplingSettings(temperature=0.7, seed=42, max_tokens=80, logprobs=2)
    plain, fast = both_ways(speculating, settings)
    assert [c.token for c in fast.choices] == [c.token for c in plain.choices]
    assert fast.wait().drafted_tokens > 0


@pytest.mark.slow
def test_stop_strings_and_the_length_limit_end_a_verified_draft_exactly(
    speculating: EngineClient,
) -> None:
    for settings in (
        SamplingSettings(temperature=0.0, max_tokens=37),
        SamplingSettings(temperature=0.0, max_tokens=200, stop=("three weeks",)),
    ):
        plain, fast = both_ways(speculating, settings)
        assert fast.text == plain.text
        assert fast.wait().finish_reason == plain.wait().finish_reason
        assert fast.wait().generated_tokens == plain.wait().generated_tokens


@pytest.mark.slow
def test_the_next_turn_reuses_the_cache_after_a_speculative_reply(
    speculating: EngineClient,
) -> None:
    first = generate(speculating, SamplingSettings(temperature=0.0, max_tokens=64))
    follow = [*REWRITE, {"role": "assistant", "content": first.text}]
    follow.append({"role": "user", "content": "Thanks."})
    stream = speculating.generate(
        chat(follow, sampling=SamplingSettings(temperature=0.0, max_tokens=4))
    )
    stats = stream.wait(timeout=120)
    assert stats.evaluated_prompt_tokens < 20  # only the new turn: rejected drafts left no trace


@pytest.mark.slow
def test_a_model_whose_batches_differ_is_decoded_plainly(gemma_model_path: Path) -> None:
    """Gemma 3 270M's K-quant batch kernels give other logits than single tokens: no
    drafting there (it would change the reply); the reply is the plain one."""
    pytest.importorskip("llama_cpp")
    client = EngineClient()
    try:
        client.load(LoadOptions(gemma_model_path, n_ctx=1024, n_threads=1)).result(timeout=300)
        plain, fast = both_ways(client, SamplingSettings(temperature=0.0, max_tokens=24))
        assert fast.text == plain.text
        assert fast.wait().drafted_tokens == 0
    finally:
        client.close()


@pytest.mark.slow
def test_by_default_the_host_measures_whether_speculation_can_pay(
    fresh_engine: EngineClient, starter_model_path: Path
) -> None:
    """By default ("auto") the first reply with drafts checks exactness and what a batch
    costs; the status says what was found, and drafting happens only where the cost allows."""
    options = LoadOptions(starter_model_path, n_ctx=2048, n_threads=1)
    fresh_engine.load(options).result(timeout=300)
    stream = generate(fresh_engine, SamplingSettings(temperature=0.0, max_tokens=48))
    found = fresh_engine.status().result()["speculation"]
    assert found["mode"] == "auto"
    assert found["exact"] is True
    assert found["batch_slope"] >= 0  # 0: a batch of 13 cost at most one token
    assert found["on"] == (found["batch_slope"] <= MAX_PAYING_SLOPE)
    if not found["on"]:
        assert stream.wait().drafted_tokens == 0


@pytest.mark.slow
def test_two_cpu_threads_never_draft(starter_engine: EngineClient) -> None:
    """With two threads llama.cpp's CPU flash attention sums a single token's keys in
    parts, a batch's not: batches are not exact there, so nothing is drafted."""
    stream = generate(starter_engine, SamplingSettings(temperature=0.0, max_tokens=48))
    assert starter_engine.status().result()["threads"] == 2
    assert stream.wait().drafted_tokens == 0


def test_an_unknown_speculation_mode_is_refused(fresh_engine: EngineClient, tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="speculation must be one of auto, always, off"):
        fresh_engine.load(LoadOptions(tmp_path / "x.gguf", speculation="fast")).result(timeout=60)


def test_the_model_check_runs_once_before_the_first_drafts_and_can_turn_drafting_off() -> None:
    asked: list[int] = []

    def refuse(position: int) -> float | None:
        asked.append(position)
        return None

    speculator = Speculator([5, 6, 7, 8, 9, 5, 6], check=refuse)
    assert speculator.propose(4, 7) == []
    assert speculator.propose(4, 7) == []
    assert asked == [7]  # once, at the position the drafts would have gone to
    agreeing = Speculator([5, 6, 7, 8, 9, 5, 6], check=lambda _position: 0.2)
    assert agreeing.propose(4, 7)[:1] == [7]
    assert agreeing.policy.slope == 0.2
