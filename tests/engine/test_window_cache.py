"""A sliding-window model's window layers keep only about their window (issue 25, item 4),
and going back in the KV cache still gives what a fresh evaluation gives.

Gemma 3 (the real 270M model) has window layers of 512 positions. With a window-sized cache
their cells are reused once out of the window, so going back further than the spare cells
loses positions they need: ``LoadedModel.truncate`` must say so (else the next tokens read
a broken window), a regenerate after a long reply goes back through the window checkpoint
taken at the prompt's end, and an edit further back evaluates the prompt again.
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import (
    LoadOptions,
    PromptProgress,
    ReplyEvent,
    ReplyStats,
    SamplingSettings,
)
from chatdesk.services.warming import warm_request
from tests.support.chat_requests import chat

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)
UBATCH = 128  # window 512 + 128 padded: 768 cells, 256 spare (the default leaves 512)
SENTENCE = "The harbour at Porto has three cranes, two ferries and a lighthouse. "
TEXT = SENTENCE * 30  # about 480 tokens
LONG = SENTENCE * 120
GREEDY = SamplingSettings(temperature=0.0, max_tokens=24)


def _model(path: Path, window_cache: bool = True) -> Any:
    import llama_cpp

    from chatdesk.engine.host.model import ContextParams, LoadedModel, open_model

    llama_cpp.llama_backend_init()
    params = ContextParams(2048, 512, 2, 2, True, n_ubatch=UBATCH, window_cache=window_cache)
    return LoadedModel(open_model(str(path), 0), params)


@pytest.fixture(scope="module")
def gemma(gemma_model_path: Path) -> Iterator[Any]:
    model = _model(gemma_model_path)
    yield model
    model.close()


def _next_logits(model: Any, tokens: list[int], keep: int) -> bytes:
    """Logits of ``tokens[keep]`` evaluated alone at position ``keep``."""
    model.evaluate([tokens[keep]], keep)
    return bytes(model._logits_bytes(-1))


def _fresh(model: Any, tokens: list[int], keep: int) -> bytes:
    """The same, from an empty cache evaluated in the same chunks."""
    model.clear()
    for start in range(0, keep, 512):  # the chunks a 1,400-token evaluation used
        model.evaluate(tokens[start : min(start + 512, keep)], start)
    return _next_logits(model, tokens, keep)


def test_going_back_within_the_spare_cells_gives_a_fresh_evaluation_exactly(gemma: Any) -> None:
    assert gemma.n_swa == 512
    tokens = gemma.tokenize(LONG, True)[:1400]
    for keep in (1280, 1152):  # on micro-batch boundaries: the same batches as fresh
        gemma.clear()
        gemma.evaluate(tokens, 0)
        assert gemma.truncate(keep), keep
        assert _next_logits(gemma, tokens, keep) == _fresh(gemma, tokens, keep), keep


def test_going_back_further_says_the_window_is_lost(gemma: Any) -> None:
    tokens = gemma.tokenize(LONG, True)[:1400]
    keep = 1024  # 376 back
    gemma.clear()
    gemma.evaluate(tokens, 0)
    assert not gemma.truncate(keep)
    # what going on from there would give: not what the prompt gives
    assert _next_logits(gemma, tokens, keep) != _fresh(gemma, tokens, keep)


def _timetable(count: int) -> str:
    """Varied text (the same every run): what the window lost matters to the next token."""
    pick = random.Random(7)
    towns = ["Porto", "Lisbon", "Faro", "Braga", "Coimbra", "Evora", "Aveiro", "Leiria"]
    rides = ["ferry", "tram", "bus", "train", "boat", "cable car"]
    return " ".join(
        f"The {pick.choice(rides)} from {pick.choice(towns)} to {pick.choice(towns)} leaves "
        f"at {pick.randint(5, 23)}:{pick.randint(10, 59)} from platform {pick.randint(1, 12)}."
        for _ in range(count)
    )


def _distance(a: bytes, b: bytes) -> float:
    """Total variation distance of the two logits' next-token distributions."""
    import numpy as np

    def softmax(raw: bytes) -> Any:
        logits = np.frombuffer(raw, dtype=np.float32).astype(np.float64)
        weights = np.exp(logits - logits.max())
        return weights / weights.sum()

    return float(0.5 * np.abs(softmax(a) - softmax(b)).sum())


def test_the_window_checkpoint_puts_back_what_a_long_reply_took(gemma: Any) -> None:
    tokens = gemma.tokenize(_timetable(200), True)[:1700]
    prompt, reply = tokens[:900], tokens[900:]
    last = len(prompt) - 1
    gemma.clear()
    gemma.evaluate(prompt[:-1], 0)
    expected = _next_logits(gemma, prompt, last)
    checkpoint = gemma.save_window()
    gemma.evaluate(reply, len(prompt))
    assert not gemma.truncate(last)
    lost = _next_logits(gemma, prompt, last)  # what going on without the checkpoint gives
    gemma.evaluate(reply, len(prompt))
    assert gemma.restore_window(checkpoint, last)
    restored = _next_logits(gemma, prompt, last)
    # The restored cells sit elsewhere in the cache, so llama.cpp sums them in another order:
    # the same distribution up to that rounding (as after any restore), not bit for bit.
    assert _distance(restored, expected) < 0.1
    assert _distance(lost, expected) > 0.5


def test_the_full_size_cache_never_loses_the_window(gemma_model_path: Path) -> None:
    model = _model(gemma_model_path, window_cache=False)
    try:
        tokens = model.tokenize(LONG, True)[:1400]
        model.evaluate(tokens, 0)
        assert model.n_swa == 0
        assert model.save_window() is None
        assert model.truncate(200)
    finally:
        model.close()


def test_the_warm_up_after_loading_leaves_nothing_in_the_cache(gemma: Any) -> None:
    import llama_cpp

    tokens = gemma.tokenize(LONG, True)[:600]
    gemma.clear()
    gemma.evaluate(tokens, 0)
    gemma.warm_up()  # the engine does this once after loading
    assert llama_cpp.llama_memory_seq_pos_max(gemma._memory, 0) == -1
    assert gemma.logits_at is None
    assert _next_logits(gemma, tokens, 0) == _fresh(gemma, tokens, 0)


# -- through the engine host: what a user does ---------------------------------------------


@pytest.fixture(scope="module")
def engine(gemma_model_path: Path) -> Iterator[EngineClient]:
    pytest.importorskip("llama_cpp")
    with gemma_host(gemma_model_path) as client:
        yield client


@contextlib.contextmanager
def gemma_host(path: Path) -> Iterator[EngineClient]:
    """An engine host with Gemma 3 loaded as these tests need it (micro-batch ``UBATCH``)."""
    client = EngineClient()
    try:
        client.load(LoadOptions(path, n_ctx=2048, n_threads=2, n_ubatch=UBATCH)).result(120)
        yield client
    finally:
        client.close()


def ask(
    engine: EngineClient, messages: list[dict[str, str]], key: str, tokens: int = 300
) -> tuple[list[tuple[int, float]], ReplyStats]:
    sampling = SamplingSettings(temperature=0.0, max_tokens=tokens, ignore_eos=True, logprobs=1)
    stream = engine.generate(chat(messages, sampling=sampling, conversation_key=key))
    stats = stream.wait(timeout=300)
    return [(choice.token, choice.probability) for choice in stream.choices], stats


def conversation(last: str) -> list[dict[str, str]]:
    return [
        {"role": "user", "content": TEXT + "What does the harbour have?"},
        {"role": "assistant", "content": "Three cranes, two ferries and a lighthouse."},
        {"role": "user", "content": TEXT + last},
    ]


def test_regenerating_a_long_reply_evaluates_one_token_and_repeats_it(
    engine: EngineClient,
) -> None:
    asked = conversation("Describe the lighthouse at length.")
    first, stats = ask(engine, asked, "window-A")
    assert stats.prompt_tokens > 768  # the window layers' cells are all in use...
    assert len(first) == 300  # ...and the reply overran the spare ones
    again, regenerated = ask(engine, asked, "window-A")
    assert regenerated.evaluated_prompt_tokens == 1  # from the checkpoint, not from the start
    third, _ = ask(engine, asked, "window-A")
    # (the first reply's last prompt token was evaluated in a batch, a regenerate's alone)
    assert [token for token, _ in again] == [token for token, _ in third]
    assert again == third


def test_an_edit_further_back_than_the_window_evaluates_again_and_answers_as_fresh(
    engine: EngineClient, gemma_model_path: Path
) -> None:
    ask(engine, conversation("Describe the cranes at length."), "window-B")
    edited = conversation("Describe the ferries at length.")  # after a 300-token reply
    reply, stats = ask(engine, edited, "window-B", tokens=24)
    assert stats.evaluated_prompt_tokens == stats.prompt_tokens
    assert reply == fresh_reply(gemma_model_path, edited)


def fresh_reply(path: Path, messages: list[dict[str, str]]) -> list[tuple[int, float]]:
    """The 24-token reply of a host that never saw the conversation."""
    with gemma_host(path) as fresh:
        return ask(fresh, messages, "fresh", tokens=24)[0]


def test_a_reply_stopped_while_its_prompt_is_read_answers_as_fresh_when_asked_again(
    engine: EngineClient, gemma_model_path: Path
) -> None:
    """What the read kept (whole chunks, where the window layers still hold what comes
    next; else nothing) gives the same reply as a fresh evaluation."""
    asked = [{"role": "user", "content": _timetable(60) + " Which ride leaves first?"}]
    stream = engine.generate(chat(asked, sampling=GREEDY, conversation_key="window-F"))

    def stop_after_a_chunk(event: ReplyEvent) -> None:
        if isinstance(event, PromptProgress) and event.evaluated:
            stream.cancel()

    stream.on_event(stop_after_a_chunk)
    assert stream.wait(timeout=300).finish_reason == "cancelled"
    reply, stats = ask(engine, asked, "window-F", tokens=24)
    assert stats.prompt_tokens > 768  # more than the window layers hold
    assert reply == fresh_reply(gemma_model_path, asked)


def test_switching_back_after_a_long_reply_evaluates_only_the_new_message(
    engine: EngineClient,
) -> None:
    asked = conversation("Describe the harbour at length.")
    sampling = SamplingSettings(temperature=0.0, max_tokens=300, ignore_eos=True)
    stream = engine.generate(chat(asked, sampling=sampling, conversation_key="window-D"))
    stream.wait(timeout=300)
    ask(engine, conversation("Name one town."), "window-E", tokens=8)  # D's state is saved
    follow_up = [
        *asked,
        {"role": "assistant", "content": stream.text},
        {"role": "user", "content": "Which town has the lighthouse?"},
    ]
    reply, stats = ask(engine, follow_up, "window-D", tokens=8)
    assert stats.kv_source == "saved"
    assert stats.evaluated_prompt_tokens < 30  # the new message, not the 1,300 before it
    assert len(reply) == 8


def test_regenerating_a_long_reply_after_switching_back_evaluates_one_token(
    engine: EngineClient,
) -> None:
    """The window checkpoint is kept with the conversation's saved state: going back over a
    reply longer than the spare cells after a switch needs it as much as before one."""
    asked = conversation("Describe the ferries at length.")
    ask(engine, asked, "window-G")  # 300 tokens: more than the spare cells
    ask(engine, conversation("Name one town."), "window-H", tokens=8)  # G's state is saved
    again, stats = ask(engine, asked, "window-G")
    assert stats.kv_source == "saved"
    assert stats.evaluated_prompt_tokens == 1  # from the checkpoint, not from the start
    third, _ = ask(engine, asked, "window-G")
    assert again == third


def test_regenerating_after_the_warm_as_the_reply_ends_evaluates_one_token(
    engine: EngineClient,
) -> None:
    """The window warms a chat as each reply ends (its history, the reply included). A warm
    takes no window checkpoint, so Regenerate still finds the one where the reply's prompt
    ended, instead of reading the whole prompt again."""
    asked = conversation("Describe the market at length.")
    sampling = SamplingSettings(temperature=0.0, max_tokens=300, ignore_eos=True)
    stream = engine.generate(chat(asked, sampling=sampling, conversation_key="window-I"))
    stream.wait(timeout=300)
    replied = [*asked, {"role": "assistant", "content": stream.text}]
    warm = warm_request(chat(replied, sampling=sampling, conversation_key="window-I"), "")
    assert warm is not None
    assert engine.warm(warm).result(timeout=300)["evaluated"] > 0
    again, stats = ask(engine, asked, "window-I")
    assert stats.evaluated_prompt_tokens == 1  # from the checkpoint, not from the start
    third, _ = ask(engine, asked, "window-I")
    assert again == third
