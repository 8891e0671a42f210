"""Warming a conversation before Send (issue 25): switching back then evaluates only the
last words of the new message; any real request cancels a warm still running."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions, ReplyStats, SamplingSettings
from chatdesk.services.warming import settled, warm_request
from tests.engine.conftest import loaded_engine
from tests.support.chat_requests import chat, numbered_turns

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)


@pytest.fixture(scope="module")
def engine(tiny_model_path: Path) -> Iterator[EngineClient]:
    """A host of their own: these tests leave conversations in the cache that would change
    what the shared host's next test finds there."""
    yield from loaded_engine(tiny_model_path, 1)


SAMPLING = SamplingSettings(temperature=0.0, max_tokens=8, ignore_eos=True)
QUESTION = "Which of these places did we talk about first, and why?"


def reply(engine: EngineClient, history: list[dict[str, str]], key: str) -> ReplyStats:
    stream = engine.generate(chat(history, sampling=SAMPLING, conversation_key=key))
    stats = stream.wait(timeout=120)
    history.append({"role": "assistant", "content": stream.text})
    return stats


def test_a_warmed_conversation_evaluates_only_the_unsettled_end(engine: EngineClient) -> None:
    a = [{"role": "user", "content": "We talked about the harbour, the lighthouse. " * 12}]
    b = [{"role": "user", "content": "Now something else: numbers, 42 and 7. " * 12}]
    reply(engine, a, "warm-A")
    reply(engine, b, "warm-B")  # A's state is now only saved
    draft = [*a, {"role": "user", "content": settled(QUESTION)}]
    request = chat(draft, sampling=SAMPLING, conversation_key="warm-A")
    request = dataclasses.replace(request, add_generation_prompt=False)  # cut after the draft
    warmed = engine.warm(request).result(60)
    assert warmed["kv_source"] == "saved"
    assert not warmed["cancelled"]
    assert warmed["evaluated"] >= 10  # the user turn's opening and the settled words
    stats = reply(engine, [*a, {"role": "user", "content": QUESTION}], "warm-A")
    assert stats.kv_source == "context"  # the warm already switched the cache to A
    assert stats.evaluated_prompt_tokens <= 12  # " why?" and the template's closing tokens
    unwarmed = reply(engine, [*b, {"role": "user", "content": QUESTION}], "warm-B")
    assert unwarmed.evaluated_prompt_tokens > stats.evaluated_prompt_tokens + 8


def test_a_finished_sentence_is_warmed_whole_so_send_evaluates_nothing(
    engine: EngineClient,
) -> None:
    a = [{"role": "user", "content": "The harbour had a red lighthouse and a grey pier. " * 10}]
    reply(engine, a, "whole-A")
    reply(engine, [{"role": "user", "content": "Other things: 42 and 7. " * 10}], "whole-B")
    request = warm_request(chat(a, sampling=SAMPLING, conversation_key="whole-A"), QUESTION)
    assert request is not None
    assert request.add_generation_prompt  # "why?" ends a sentence: warmed as Send sends it
    assert engine.warm(request).result(60)["kv_source"] == "saved"
    stats = reply(engine, [*a, {"role": "user", "content": QUESTION}], "whole-A")
    assert stats.evaluated_prompt_tokens == 0  # the warm's logits of the last token are used


def test_a_real_request_cancels_a_running_warm(engine: EngineClient) -> None:
    history: list[dict[str, str]] = []
    for n in range(30):
        history.append({"role": "user", "content": f"Line {n} of a long history to read. " * 4})
        history.append({"role": "assistant", "content": "ok"})
    warming = engine.warm(chat(history, sampling=SAMPLING, conversation_key="warm-long"))
    stream = engine.generate(chat([{"role": "user", "content": "Hi"}], sampling=SAMPLING))
    stats = stream.wait(timeout=120)
    assert stats.finish_reason == "length"
    result = warming.result(timeout=120)
    assert result["cancelled"]  # it never ran to the end: the reply went first


def test_settled_words_leave_a_half_typed_word_out() -> None:
    assert settled("what shelf was it") == "what shelf was"
    assert settled("what shelf was it ") == "what shelf was it"
    assert settled("word") == ""
    assert settled("") == ""


def test_an_unfinished_draft_is_warmed_only_up_to_its_settled_words() -> None:
    base = chat([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
    partial = warm_request(base, "what colour was the light")
    assert partial is not None
    assert partial.messages[-1].text == "what colour was the"
    assert not partial.add_generation_prompt
    assert warm_request(base, "") == base  # opening: the conversation as it is
    assert warm_request(chat([]), "") is None


def test_the_state_budgets_are_the_settings_and_status_reports_them(tiny_model_path: Path) -> None:
    client = EngineClient()
    try:
        options = LoadOptions(tiny_model_path, n_ctx=2048, state_cache_mb=1, state_disk_mb=0)
        client.load(options).result(timeout=120)
        for key in ("budget-A", "budget-B"):
            history = [{"role": "user", "content": f"Conversation {key}. " * 20}]
            reply(client, history, key)
        status = client.status().result(timeout=30)
    finally:
        client.close()
    assert status["saved_state_budget"] == 1024**2
    assert 0 < status["saved_state_bytes"] <= 1024**2
    assert status["disk_state_budget"] == 0  # 0 MB of disk: nothing is written
    assert status["disk_state_bytes"] == 0


def test_in_a_chat_past_the_context_the_warm_does_the_cuts_read(
    short_context: EngineClient,
) -> None:
    """When a turn must leave older turns out, the warm made while the question is typed
    fits the prompt as Send will and reads the kept history; Send evaluates nothing more
    (the window's way of taking that read off the first token)."""
    history = numbered_turns(40)
    warms, sends = [], []
    for index in range(24):
        question = f"Question number {index}?"
        asked = chat(history, sampling=SAMPLING, conversation_key="warm-long")
        warm = warm_request(asked, question)
        assert warm is not None
        warms.append(short_context.warm(warm).result(60))
        history.append({"role": "user", "content": question})
        sends.append(reply(short_context, history, "warm-long"))
    evaluated = [warm["evaluated"] for warm in warms]
    cuts = [index for index in range(1, 24) if evaluated[index] > 200]
    assert cuts, evaluated  # a later turn left turns out, and its warm read the rest
    assert len(cuts) <= 3, evaluated  # the other warms read only the new question
    assert sends[cuts[0]].dropped_messages > sends[0].dropped_messages
    assert [stats.evaluated_prompt_tokens for stats in sends] == [0] * 24


def test_in_a_chat_past_the_context_the_warm_as_a_reply_ends_does_the_cuts_read(
    short_context: EngineClient,
) -> None:
    """The window and ``chatdesk chat`` warm the chat as each reply ends, before the next
    question is known: that warm must cut where Send will, so Send reads only the question
    (tests/engine/test_context_fit.py checks the fit's side of this)."""
    history = numbered_turns(40)
    warms, sends = [], []
    for index in range(24):
        asked = chat(history, sampling=SAMPLING, conversation_key="warm-after")
        warm = warm_request(asked, "")  # the history as it is: no draft yet
        assert warm is not None
        warms.append(short_context.warm(warm).result(60))
        history.append({"role": "user", "content": f"Question number {index}, and why?"})
        sends.append(reply(short_context, history, "warm-after"))
    evaluated = [warm["evaluated"] for warm in warms]
    assert [index for index in range(1, 24) if evaluated[index] > 200], evaluated  # cuts
    assert max(stats.evaluated_prompt_tokens for stats in sends[1:]) < 40


@pytest.mark.parametrize("between", [False, True], ids=["alone", "another-chat-between"])
def test_regenerating_a_reply_whose_warm_moved_the_cut_reads_only_the_reply_again(
    short_context: EngineClient, between: bool
) -> None:
    """The warm as a reply ends moves a chat past the context to its next cut, reading the
    new kept part. Regenerate then asks for the old cut's prompt again (the reply's own
    question, without the reply): the host kept that state when the warm left it, so the
    regenerated reply evaluates one token, not the whole old cut again; and the warm after
    it goes back to the new cut without reading it again. Also where another chat took a
    turn before the warm (the state left was then the saved one)."""
    history, key = numbered_turns(40), f"warm-regenerate-{between}"
    regenerated: list[ReplyStats] = []
    for index in range(24):
        history.append({"role": "user", "content": f"Question number {index}, and why?"})
        reply(short_context, history, key)
        if between:
            reply(short_context, [{"role": "user", "content": f"Other {index}"}], "other")
        warm = warm_request(chat(history, sampling=SAMPLING, conversation_key=key), "")
        assert warm is not None  # as the reply ends
        if short_context.warm(warm).result(60)["evaluated"] > 200:  # the warm moved the cut
            del history[-1]
            regenerated.append(reply(short_context, history, key))
            again = warm_request(chat(history, sampling=SAMPLING, conversation_key=key), "")
            assert again is not None  # as the regenerated reply ends: back to the new cut
            assert short_context.warm(again).result(60)["evaluated"] < 40
    assert regenerated  # some turns moved the cut
    assert [stats.kv_source for stats in regenerated] == ["saved"] * len(regenerated)
    # the question's last token again, for its logits: what any regenerate evaluates
    assert [stats.evaluated_prompt_tokens for stats in regenerated] == [1] * len(regenerated)
