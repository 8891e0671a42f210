"""The engine host with the real starter model (SmolLM2-135M-Instruct): answers, progress.

The generated tiny models stay for hostile and edge cases; what a user would check about a
real reply is checked here, with a real chat model and its own template.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import (
    ContextFitted,
    LoadOptions,
    PromptProgress,
    ReplyDone,
    ReplyEvent,
    SamplingSettings,
    TextDelta,
)
from tests.support.chat_requests import chat

pytestmark = pytest.mark.slow
GREEDY = SamplingSettings(temperature=0.0, seed=1, max_tokens=24)
CAPITAL = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


@pytest.fixture(scope="module")
def real_engine(starter_model_path: Path) -> Iterator[EngineClient]:
    """An engine host with the real starter model loaded."""
    pytest.importorskip("llama_cpp")
    client = EngineClient()
    client.load(LoadOptions(starter_model_path, n_ctx=2048, n_batch=128)).result(timeout=120)
    yield client
    client.close()


def test_the_real_model_knows_the_capital_of_france(real_engine: EngineClient) -> None:
    stream = real_engine.generate(chat(CAPITAL, system_prompt="", sampling=GREEDY))
    stats = stream.wait(timeout=120)
    assert "Paris" in stream.text
    assert stats.finish_reason in ("stop", "length")
    assert real_engine.model_info is not None
    assert real_engine.model_info.architecture == "llama"
    assert real_engine.model_info.template_name  # its own chat template was found


def test_a_chinese_reply_cut_off_by_its_token_limit_ends_with_whole_characters(
    real_engine: EngineClient,
) -> None:
    """The starter model spells most Chinese characters in two or three byte tokens, so a
    reply that reaches its token limit often stops inside a character. Those replies ended
    with U+FFFD (6 of these 12: 灯塔\ufffd); they end before the character now, each a
    prefix of the longer ones."""
    question = [{"role": "user", "content": "灯塔看守人叫什么名字?"}]
    replies = []
    for limit in range(1, 13):
        sampling = dataclasses.replace(GREEDY, max_tokens=limit)
        stream = real_engine.generate(chat(question, system_prompt="", sampling=sampling))
        stream.wait(timeout=120)
        replies.append(stream.text)
    assert not any("\ufffd" in reply for reply in replies), replies
    assert all(later.startswith(reply) for reply, later in itertools.pairwise(replies))
    assert len(set(replies)) < len(replies)  # some limits did stop inside a character


def test_a_long_prompt_reports_its_evaluation_progress(real_engine: EngineClient) -> None:
    notes = " ".join(f"Note {n}: the meeting moved to room {n % 7}." for n in range(50))
    messages = [{"role": "user", "content": notes + "\nWhich room is note 3 in?"}]
    events: list[ReplyEvent] = list(
        real_engine.generate(
            chat(
                messages, system_prompt="", sampling=SamplingSettings(temperature=0.0, max_tokens=4)
            )
        )
    )
    fitted = next(e for e in events if isinstance(e, ContextFitted))
    progress = [e for e in events if isinstance(e, PromptProgress)]
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert len(progress) >= 4  # 0 of N, then one per 128-token batch
    assert progress[0].evaluated == 0
    assert progress[0].seconds_left is None
    assert progress[-1].evaluated == progress[-1].total
    assert fitted.prompt_tokens / 2 < progress[-1].total <= fitted.prompt_tokens
    done = [p.evaluated for p in progress]
    assert done == sorted(done)
    assert all(p.seconds_left is not None for p in progress[1:])
    assert all(events.index(p) < first_text for p in progress)  # before any reply text
    assert isinstance(events[-1], ReplyDone)


def test_a_short_prompt_sends_no_progress(real_engine: EngineClient) -> None:
    events = list(real_engine.generate(chat(CAPITAL, system_prompt="", sampling=GREEDY)))
    assert not [e for e in events if isinstance(e, PromptProgress)]


def test_a_second_real_model_of_another_template_family(gemma_model_path: Path) -> None:
    """Gemma 3 270M (a base model whose GGUF has no chat template): the host recognises its
    turn tokens and uses the Gemma template, not ChatML; generation works end to end."""
    pytest.importorskip("llama_cpp")
    client = EngineClient()
    try:
        info = client.load(LoadOptions(gemma_model_path, n_ctx=1024)).result(timeout=120)
        assert info.architecture == "gemma3"
        assert not info.chat_template_present
        assert info.template_name == "gemma"
        rendered = client.render(chat(CAPITAL, system_prompt="Answer briefly.")).result(timeout=60)
        prompt, _tokens = rendered.text, rendered.tokens
        assert "<start_of_turn>user" in prompt
        assert "Answer briefly." in prompt  # the system prompt is folded into the user turn
        stream = client.generate(chat(CAPITAL, system_prompt="", sampling=GREEDY))
        stats = stream.wait(timeout=120)
        assert stats.finish_reason in ("stop", "length")
        assert stats.generated_tokens > 0
    finally:
        client.close()


def test_a_reply_stopped_while_its_prompt_is_read_keeps_what_was_read(
    real_engine: EngineClient,
) -> None:
    """Stop (or a Send that cancels a warm) during a long prompt: the next request with that
    prompt reads only the rest, and replies as a fresh evaluation of it does."""
    notes = " ".join(f"Entry {n}: a parcel left depot {n % 11} at {n % 24}:15." for n in range(90))
    request = chat(
        [{"role": "user", "content": notes + "\nWhich depot did entry 5 leave?"}],
        system_prompt="",
        sampling=GREEDY,
        conversation_key="stopped-while-read",
    )
    stream = real_engine.generate(request)
    read: list[int] = []

    def stop_after_a_chunk(event: ReplyEvent) -> None:
        if isinstance(event, PromptProgress) and event.evaluated and not read:
            read.append(event.evaluated)
            stream.cancel()

    stream.on_event(stop_after_a_chunk)
    stopped = stream.wait(timeout=120)
    assert stopped.finish_reason == "cancelled"
    assert read
    assert stopped.prompt_tokens > read[0] + 256  # stopped early in the read
    again = real_engine.generate(request)
    resumed = again.wait(timeout=120)
    assert resumed.evaluated_prompt_tokens <= resumed.prompt_tokens - read[0]
    other = chat(CAPITAL, system_prompt="", sampling=GREEDY)
    real_engine.generate(other).wait(timeout=120)  # the context now holds something else
    fresh = real_engine.generate(dataclasses.replace(request, conversation_key=None))
    fresh_stats = fresh.wait(timeout=120)
    assert fresh_stats.evaluated_prompt_tokens > resumed.evaluated_prompt_tokens + 64
    assert again.text == fresh.text
