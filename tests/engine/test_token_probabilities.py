"""Token probabilities from the real starter model, checked against llama-cpp-python's own.

Tolerance against ``Llama.create_completion(logprobs=N)``: 1e-4 absolute per probability
(both read the same float32 logits; the measured difference is below 1e-7).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from chatdesk.engine.client import EngineClient, ReplyStream
from chatdesk.engine.types import LoadOptions, SamplingSettings, TokenProbabilities
from tests.support.chat_requests import chat

pytestmark = pytest.mark.slow
TOLERANCE = 1e-4
SYSTEM = "You are a helpful assistant."
QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
STORY = [{"role": "user", "content": "Write a short story about a cat who finds a key."}]


def reply(engine: EngineClient, messages: list[dict[str, str]], **changes: object) -> ReplyStream:
    values: dict[str, object] = {"max_tokens": 24, "repeat_penalty": 1.0, "seed": 11}
    values.update(changes)
    stream = engine.generate(
        chat(messages, system_prompt=SYSTEM, sampling=SamplingSettings(**values))
    )  # type: ignore[arg-type]
    stream.wait(timeout=120)
    return stream


def test_at_temperature_zero_the_chosen_token_is_always_the_most_probable(
    starter_engine: EngineClient,
) -> None:
    stream = reply(starter_engine, QUESTION, temperature=0.0, logprobs=5)
    assert "Paris" in stream.text
    assert len(stream.choices) == stream.wait().generated_tokens
    for choice in stream.choices:
        assert choice.top[0].token == choice.token
        assert choice.probability == max(a.probability for a in choice.top)
        assert [a.probability for a in choice.top] == sorted(
            (a.probability for a in choice.top), reverse=True
        )
        assert choice.sampled_probability == 1.0
    assert "".join(choice.text for choice in stream.choices) == stream.text


def test_alternatives_never_sum_past_one(starter_engine: EngineClient) -> None:
    stream = reply(starter_engine, STORY, temperature=1.0, top_k=0, top_p=1.0, logprobs=20)
    assert len(stream.choices) == 24
    for choice in stream.choices:
        assert len(choice.top) == 20
        assert 0 < sum(a.probability for a in choice.top) <= 1 + 1e-6
        assert 0 < sum(a.probability for a in choice.sampled_top) <= 1 + 1e-6
        assert 0 < choice.probability <= 1
        assert 0 < choice.sampled_probability <= 1


def test_the_sampler_sees_the_truncated_and_reshaped_distribution(
    starter_engine: EngineClient,
) -> None:
    stream = reply(
        starter_engine, STORY, temperature=0.7, top_k=3, top_p=1.0, min_p=0.0, logprobs=5
    )
    for choice in stream.choices:
        assert 1 <= len(choice.sampled_top) <= 3  # top-k 3 leaves at most 3 candidates
        assert sum(a.probability for a in choice.sampled_top) == pytest.approx(1, abs=1e-5)
        assert choice.token in {a.token for a in choice.sampled_top}
        assert {a.token for a in choice.sampled_top} <= {a.token for a in choice.top[:3]}
        # a temperature below 1 sharpens: the favourite gains, as seen by the sampler
        assert choice.sampled_top[0].probability >= choice.top[0].probability - 1e-6


def test_asking_for_probabilities_does_not_change_the_reply(starter_engine: EngineClient) -> None:
    plain = reply(starter_engine, STORY, temperature=0.9, seed=5, repeat_penalty=1.1)
    probed = reply(starter_engine, STORY, temperature=0.9, seed=5, repeat_penalty=1.1, logprobs=3)
    assert probed.text == plain.text
    assert plain.choices == []
    events: list[object] = []
    plain.on_event(events.append)
    assert not any(isinstance(event, TokenProbabilities) for event in events)


def test_probabilities_match_llama_cpp_python(
    fresh_engine: EngineClient, starter_model_path: Path
) -> None:
    """A host of its own, nothing cached: its prompt is evaluated in one batch, as
    llama-cpp-python's is (a prompt partly cached by earlier tests is evaluated in other
    batches, whose floating-point sums differ in the last digits)."""
    llama_cpp = pytest.importorskip("llama_cpp")
    options = LoadOptions(starter_model_path, n_ctx=2048, n_threads=2)
    fresh_engine.load(options).result(timeout=120)
    starter_engine = fresh_engine
    rendered = starter_engine.render(chat(QUESTION, system_prompt=SYSTEM)).result(timeout=30)
    prompt, _count = rendered.text, rendered.tokens
    ours = reply(starter_engine, QUESTION, temperature=0.0, logprobs=5, max_tokens=8)
    llm = llama_cpp.Llama(  # the host's settings: flash attention is on for CPU (issue 25)
        str(starter_model_path),
        n_ctx=2048,
        n_threads=2,
        logits_all=True,
        verbose=False,
        flash_attn=True,
    )
    try:
        out = llm.create_completion(
            prompt, max_tokens=8, temperature=0.0, top_k=1, repeat_penalty=1.0, logprobs=5
        )
    finally:
        llm.close()
    theirs = out["choices"][0]["logprobs"]
    assert out["choices"][0]["text"] == ours.text
    assert theirs["tokens"] == [choice.text for choice in ours.choices]
    for choice, logprob, top in zip(
        ours.choices, theirs["token_logprobs"], theirs["top_logprobs"], strict=True
    ):
        assert choice.probability == pytest.approx(math.exp(logprob), abs=TOLERANCE)
        for alternative in choice.top:
            if alternative.text in top:
                assert alternative.probability == pytest.approx(
                    math.exp(top[alternative.text]), abs=TOLERANCE
                )
        assert {a.text for a in choice.top} == set(top)
