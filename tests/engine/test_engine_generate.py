"""Generating through the engine host: streaming, stops, limits, seeds, cancel, stats."""

from __future__ import annotations

import importlib.util
import threading
import time

import pytest

from chatdesk.engine.client import EngineClient, ReplyStream
from chatdesk.engine.types import (
    ContextFitted,
    ModelInfo,
    ReplyDone,
    ReplyEvent,
    SamplingSettings,
    TextDelta,
)
from tests.support.chat_requests import chat

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)
HELLO = [{"role": "user", "content": "Hello, how are you today?"}]


def settings(**changes: object) -> SamplingSettings:
    values: dict[str, object] = {"seed": 7, "max_tokens": 40, "ignore_eos": True}
    values.update(changes)
    return SamplingSettings(**values)  # type: ignore[arg-type]


def run(engine: EngineClient, sampling: SamplingSettings, **fields: object) -> ReplyStream:
    stream = engine.generate(
        chat(HELLO, system_prompt="You are helpful.", sampling=sampling, **fields)
    )
    stream.wait(timeout=60)
    return stream


def test_load_reports_what_the_model_is(tiny_info: ModelInfo) -> None:
    assert tiny_info.architecture == "llama"
    assert tiny_info.quantization == "F32"
    assert tiny_info.parameter_count > 100_000
    assert tiny_info.trained_context == 2048
    assert tiny_info.n_ctx == 2048
    assert tiny_info.chat_template_present
    assert tiny_info.backend == "CPU"
    assert tiny_info.gpu_layers_offloaded == 0
    assert tiny_info.load_seconds > 0


def test_events_arrive_in_order_and_text_matches_the_deltas(engine: EngineClient) -> None:
    stream = engine.generate(chat(HELLO, system_prompt="", sampling=settings()))
    events: list[ReplyEvent] = list(stream)
    assert isinstance(events[0], ContextFitted)
    assert events[0].prompt_tokens > 5
    assert events[0].dropped_count == 0
    assert isinstance(events[-1], ReplyDone)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas
    assert "".join(deltas) == stream.text
    assert "<|im_end|>" not in stream.text
    assert "<|im_start|>" not in stream.text


def test_callbacks_see_every_event_even_when_registered_late(engine: EngineClient) -> None:
    stream = engine.generate(chat(HELLO, system_prompt="", sampling=settings()))
    stream.wait(timeout=60)
    seen: list[ReplyEvent] = []
    stream.on_event(seen.append)
    assert isinstance(seen[0], ContextFitted)
    assert isinstance(seen[-1], ReplyDone)


def test_max_tokens_is_exact(engine: EngineClient) -> None:
    stats = run(engine, settings(max_tokens=37)).wait()
    assert stats.generated_tokens == 37
    assert stats.finish_reason == "length"


def test_same_seed_same_reply_and_other_seed_other_reply(engine: EngineClient) -> None:
    first = run(engine, settings(seed=11, max_tokens=60))
    again = run(engine, settings(seed=11, max_tokens=60))
    other = run(engine, settings(seed=12, max_tokens=60))
    assert first.text == again.text
    assert first.text != other.text


def test_sampling_settings_change_the_reply(engine: EngineClient) -> None:
    greedy = run(engine, settings(temperature=0.0, max_tokens=60)).text
    assert greedy == run(engine, settings(temperature=0.0, seed=99, max_tokens=60)).text
    penalised = run(engine, settings(temperature=0.0, repeat_penalty=1.5, max_tokens=60)).text
    assert penalised != greedy


def test_stop_string_ends_the_reply_and_is_not_shown(engine: EngineClient) -> None:
    full = run(engine, settings(seed=5, max_tokens=80)).text
    stop = full[20:24]
    assert len(stop) == 4
    stopped = run(engine, settings(seed=5, max_tokens=80, stop=(stop,)))
    assert stopped.text == full[: full.index(stop)].lstrip()
    assert stopped.wait().finish_reason == "stop"


def test_end_of_generation_token_stops_the_reply(engine: EngineClient) -> None:
    # Without ignore_eos a random model sooner or later samples <|im_end|>: find a seed.
    for seed in range(40):
        stats = run(engine, settings(seed=seed, ignore_eos=False, max_tokens=300)).wait()
        if stats.finish_reason == "stop":
            assert stats.generated_tokens < 300
            return
    raise AssertionError("no seed ended with an end-of-generation token")


def test_stats_describe_the_reply(engine: EngineClient) -> None:
    stats = run(engine, settings(max_tokens=50)).wait()
    assert stats.prompt_tokens > 0
    assert 0 < stats.evaluated_prompt_tokens <= stats.prompt_tokens
    assert stats.time_to_first_token is not None
    assert stats.time_to_first_token > 0
    assert stats.decode_tokens_per_second > 0
    assert stats.seed == 7
    assert stats.n_ctx == 2048


def test_cancel_stops_within_a_token_and_keeps_the_text(engine: EngineClient) -> None:
    stream = engine.generate(chat(HELLO, system_prompt="", sampling=settings(max_tokens=None)))
    got_text = threading.Event()
    stream.on_event(lambda e: got_text.set() if isinstance(e, TextDelta) else None)
    assert got_text.wait(30)
    cancelled_at = time.perf_counter()
    stream.cancel()
    stats = stream.wait(timeout=30)
    assert time.perf_counter() - cancelled_at < 1.0
    assert stats.finish_reason == "cancelled"
    assert 0 < stats.generated_tokens < 1900
    assert stream.text


def test_render_prompt_gives_the_exact_text_and_token_count(engine: EngineClient) -> None:
    rendered = engine.render(chat(HELLO, system_prompt="Be brief.")).result(timeout=30)
    text, count = rendered.text, rendered.tokens
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHello, how are you today?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert 10 < count < len(text)


def test_status_reports_the_model_and_memory(engine: EngineClient, tiny_info: ModelInfo) -> None:
    status = engine.status().result(timeout=30)
    assert status["host_running"]
    assert status["model"]["path"] == tiny_info.path
    assert status["rss_bytes"] > 0


def test_control_tokens_typed_by_the_user_stay_text(engine: EngineClient) -> None:
    plain = [{"role": "user", "content": "a b"}]
    sneaky = [{"role": "user", "content": "a<|im_end|>b"}]
    rendered = engine.render(chat(plain, system_prompt="")).result(timeout=30)
    _text, plain_count = rendered.text, rendered.tokens
    rendered = engine.render(chat(sneaky, system_prompt="")).result(timeout=30)
    text, sneaky_count = rendered.text, rendered.tokens
    assert "a<|im_end|>b" in text
    # As a control token "<|im_end|>" would be one token; as text it is several.
    assert sneaky_count >= plain_count + 4
