"""One engine contract, checked on every implementation (see conftest.py for which).

Each feature is one test, run against each implementation on the real starter model. A
cell either passes (the engine honours the request: the reply completes and has what the
feature promises) or asserts a clear refusal: the reply fails at once with an
``unsupported`` EngineError naming the field, and ``capabilities`` says the engine cannot
honour it (``unsupported(request, capabilities)`` names the same field). Nothing may be
dropped silently, so an engine whose capabilities claim a feature must deliver it, and
one that refuses must say so in its capabilities.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
from typing import Any

import pytest

from chatdesk.engine.interface import Engine, ReplyHandle
from chatdesk.engine.request import (
    ChatRequest,
    Message,
    ResponseFormat,
    ToolChoice,
    ToolSpec,
    unsupported,
)
from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    ErrorCode,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    SamplingSettings,
    TextDelta,
    TokenProbabilities,
)
from tests.engine_conformance.conftest import record
from tests.support.chat_requests import short_turns

pytestmark = pytest.mark.slow
MAX_TOKENS = 8
GREEDY = SamplingSettings(temperature=0.0, seed=1, max_tokens=MAX_TOKENS)
LONGER = dataclasses.replace(GREEDY, max_tokens=40)
SYSTEM = "You answer in a few words."
QUESTION = Message.of("user", "What is the capital of France?")
WEATHER = ToolSpec(
    "get_weather",
    "The current weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "maxLength": 12}},
    "required": ["answer"],
    "additionalProperties": False,
}
TIMEOUT = 120


def ask(messages: tuple[Message, ...] = (QUESTION,), **fields: Any) -> ChatRequest:
    """A request with the suite's defaults (one question), plus ``fields``."""
    return ChatRequest(messages, **{"system_prompt": SYSTEM, "sampling": GREEDY, **fields})


def events_of(handle: ReplyHandle) -> list[ReplyEvent]:
    """Every event of a reply, once it has ended."""
    events: list[ReplyEvent] = []
    handle.on_event(events.append)
    with contextlib.suppress(EngineError):  # a failure is the last event
        handle.wait(timeout=TIMEOUT)
    return events


def completed(events: list[ReplyEvent]) -> tuple[str, ReplyDone]:
    """The reply's text and its end, asserting that it ended without a failure."""
    failed = [e for e in events if isinstance(e, ReplyFailed)]
    assert not failed, failed[0].error.message
    assert isinstance(events[-1], ReplyDone)
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events[-1]


def assert_refused(engine: Engine, request: ChatRequest, field: str) -> None:
    """The engine says up front that it cannot honour ``field``: its capabilities say so,
    generate fails at once naming it (no text), and render fails the same way."""
    assert any(field in problem for problem in unsupported(request, engine.capabilities))
    events = events_of(engine.generate(request))
    assert [type(e) for e in events] == [ReplyFailed], events
    failure = events[0]
    assert isinstance(failure, ReplyFailed)
    assert failure.error.code == ErrorCode.UNSUPPORTED
    assert field in failure.error.message
    with pytest.raises(EngineError) as refused:
        engine.render(request).result(timeout=TIMEOUT)
    assert refused.value.code == ErrorCode.UNSUPPORTED


def implementation(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["engine"])


# -- features ---------------------------------------------------------------------------


def test_plain_reply(engine: Engine, request: pytest.FixtureRequest) -> None:
    events = events_of(engine.generate(ask()))
    text, done = completed(events)
    assert isinstance(events[0], ContextFitted)
    assert events[0].kept == 1
    assert events[0].prompt_tokens > 5
    assert text.strip()
    assert done.stats.finish_reason in ("stop", "length")
    assert 0 < done.stats.generated_tokens <= MAX_TOKENS
    assert engine.generate(ask()).wait(timeout=TIMEOUT).finish_reason in ("stop", "length")
    record(implementation(request), "plain reply", "pass")


def test_stop_ends_the_reply_and_keeps_the_text(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    long = SamplingSettings(temperature=0.0, seed=1, max_tokens=400, ignore_eos=True)
    handle = engine.generate(ask(sampling=long))
    first_text = threading.Event()
    handle.on_event(lambda e: first_text.set() if isinstance(e, TextDelta) else None)
    assert first_text.wait(timeout=TIMEOUT)
    handle.cancel()
    stats = handle.wait(timeout=30)
    assert stats.finish_reason == "cancelled"
    events = events_of(handle)
    assert any(isinstance(e, TextDelta) for e in events)
    assert engine.generate(ask()).wait(timeout=TIMEOUT).finish_reason in ("stop", "length")
    record(implementation(request), "stop", "pass")


def test_continue_an_unfinished_reply(engine: Engine, request: pytest.FixtureRequest) -> None:
    partial = "The capital of France is"
    wanted = ask(messages=(QUESTION, Message.of("assistant", partial)))
    assert wanted.continues
    if not engine.capabilities.continuation:
        assert_refused(engine, wanted, "continue")
        record(implementation(request), "continue", "refused")
        return
    prompt = engine.render(wanted).result(timeout=TIMEOUT)
    assert prompt.text.rstrip().endswith(partial)  # no new assistant turn opened after it
    text, _done = completed(events_of(engine.generate(wanted)))
    assert text
    assert not text.lstrip().startswith(partial)
    record(implementation(request), "continue", "pass")


def test_tools_reach_the_model(engine: Engine, request: pytest.FixtureRequest) -> None:
    wanted = ask(tools=(WEATHER,))
    if engine.capabilities.tools == "none":
        assert_refused(engine, wanted, "tools")
        record(implementation(request), "tools", "refused")
        return
    prompt = engine.render(wanted).result(timeout=TIMEOUT)
    assert "get_weather" in prompt.text
    assert "The current weather in a city" in prompt.text
    plain = engine.render(ask()).result(timeout=TIMEOUT)
    assert prompt.tokens > plain.tokens  # the definitions are counted against the context
    completed(events_of(engine.generate(wanted)))
    record(implementation(request), "tools", f"pass ({engine.capabilities.tools})")


def test_a_named_tool_choice(engine: Engine, request: pytest.FixtureRequest) -> None:
    named = ToolChoice("named", "get_weather")
    room = dataclasses.replace(GREEDY, max_tokens=96)  # a held call must fit (issue 22)
    wanted = ask(tools=(WEATHER,), tool_choice=named, sampling=room)
    if "named" not in engine.capabilities.tool_choice:
        assert_refused(engine, wanted, "tool_choice")
        record(implementation(request), "tool_choice named", "refused")
        return
    text, _done = completed(events_of(engine.generate(wanted)))
    assert "get_weather" in text  # the call comes back as <tool_call> text for the tool loop
    record(implementation(request), "tool_choice named", "pass")


def test_token_probabilities(engine: Engine, request: pytest.FixtureRequest) -> None:
    wanted = ask(logprobs=3)
    if not engine.capabilities.logprobs:
        assert_refused(engine, wanted, "logprobs")
        record(implementation(request), "token probabilities", "refused")
        return
    events = events_of(engine.generate(wanted))
    text, done = completed(events)
    choices = [c for e in events if isinstance(e, TokenProbabilities) for c in e.tokens]
    assert choices
    assert len(choices) <= done.stats.generated_tokens
    assert "".join(c.text for c in choices).strip() == text.strip()
    for choice in choices:
        assert 0.0 <= choice.probability <= 1.0
        assert 1 <= len(choice.top) <= 3
    record(implementation(request), "token probabilities", "pass")


def test_few_shot_examples(engine: Engine, request: pytest.FixtureRequest) -> None:
    examples = (
        Message.of("user", "Capital of Italy?", example=True),
        Message.of("assistant", "Rome.", example=True),
    )
    wanted = ask(messages=(*examples, QUESTION))
    assert wanted.examples == examples
    if not engine.capabilities.example_pinning:
        assert_refused(engine, wanted, "examples")
        record(implementation(request), "few-shot examples", "refused")
        return
    prompt = engine.render(wanted).result(timeout=TIMEOUT)
    assert prompt.text.index("Rome.") < prompt.text.index("capital of France")
    events = events_of(engine.generate(wanted))
    completed(events)
    fitted = events[0]
    assert isinstance(fitted, ContextFitted)
    assert fitted.kept == 1
    assert fitted.dropped_count == 0
    record(implementation(request), "few-shot examples", "pass")


def test_json_schema_response_format(engine: Engine, request: pytest.FixtureRequest) -> None:
    schema = ResponseFormat("json_schema", ANSWER_SCHEMA, "answer")
    wanted = ask(response_format=schema, sampling=LONGER)
    if engine.capabilities.response_format == "none":
        assert_refused(engine, wanted, "response_format")
        record(implementation(request), "response format", "refused")
        return
    text, _done = completed(events_of(engine.generate(wanted)))
    assert isinstance(json.loads(text).get("answer"), str)
    how = engine.capabilities.response_format
    record(implementation(request), "response format", f"pass ({how})")


def test_render_shows_what_the_model_receives(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    prompt = engine.render(ask()).result(timeout=TIMEOUT)
    assert SYSTEM in prompt.text
    assert "capital of France" in prompt.text
    assert prompt.tokens > 5
    assert prompt.exact == (engine.capabilities.render == "exact")
    if prompt.exact:  # the count is the one the reply's prompt has
        events = events_of(engine.generate(ask()))
        fitted = events[0]
        assert isinstance(fitted, ContextFitted)
        assert fitted.prompt_tokens == prompt.tokens
    record(implementation(request), "render", f"pass ({engine.capabilities.render})")


def test_render_shows_the_fitted_conversation(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    filler = "a long remark about the weather and the sea, " * 6
    history = [
        Message.of("user" if i % 2 == 0 else "assistant", f"turn {i}: {filler}") for i in range(60)
    ]
    wanted = ask(messages=(*history, QUESTION))
    prompt = engine.render(wanted).result(timeout=TIMEOUT)
    assert "capital of France" in prompt.text
    events = events_of(engine.generate(wanted))
    info = engine.model_info
    if info is None or not info.n_ctx:  # the server reports no context: it gets everything
        assert "turn 0:" in prompt.text
        if isinstance(events[-1], ReplyFailed):
            record(implementation(request), "long chat", "known gap (xfail)")
            pytest.xfail(
                "the server reports no context size, so nothing is fitted, and it fails the "
                f"over-long request with: {events[-1].error.message}"
            )
        record(implementation(request), "long chat", "pass (server fits)")
        return
    completed(events)
    fitted = events[0]
    assert isinstance(fitted, ContextFitted)
    assert fitted.dropped_count > 0
    assert "turn 0:" not in prompt.text  # dropped to fit, and Show prompt says so
    assert f"turn {len(history) + 1 - fitted.kept}:" in prompt.text  # the oldest kept
    if prompt.exact:
        assert prompt.tokens == fitted.prompt_tokens
    record(implementation(request), "long chat", "pass")


def test_a_long_chat_keeps_its_cut_as_it_grows(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    """Past the context, the oldest kept message must not move one turn each turn: every
    engine reuses only an unchanged prompt prefix, so that re-read the kept history every
    turn. Four turns whose replies outgrow the oldest turns: the cut moves at most once."""
    info = engine.model_info
    if info is None or not info.n_ctx:  # nothing is fitted here: the server decides
        record(implementation(request), "long chat grows", "server fits")
        return
    history = short_turns(300)
    cuts = []
    for number in range(4):
        history.append(Message.of("user", f"Question {number}: tell me about the sea."))
        events = events_of(engine.generate(ask(tuple(history), sampling=LONGER)))
        text, _done = completed(events)
        fitted = events[0]
        assert isinstance(fitted, ContextFitted)
        assert fitted.dropped_count > 0
        cuts.append(fitted.dropped_count)
        history.append(Message.of("assistant", text))
    assert len(set(cuts)) <= 2, cuts
    record(implementation(request), "long chat grows", "pass")


def test_a_reserved_room_is_left_free(engine: Engine, request: pytest.FixtureRequest) -> None:
    """Room a request reserves (what joins the question at Send and not at its warm:
    document passages) is left out of what the history may take, so the cut is the same
    with or without them; an engine that fits must honour it."""
    info = engine.model_info
    if info is None or not info.n_ctx:  # nothing is fitted here: the server decides
        record(implementation(request), "reserved room", "server fits")
        return
    history = (*short_turns(300), QUESTION)
    room = info.n_ctx // 4
    plain = engine.render(ask(history)).result(timeout=TIMEOUT)
    kept = engine.render(ask(history, reserved_tokens=room)).result(timeout=TIMEOUT)
    assert "capital of France" in kept.text
    assert len(kept.text) < len(plain.text)  # older turns left out for the reserved room
    if kept.exact:
        assert kept.tokens + room <= info.n_ctx - MAX_TOKENS
    record(implementation(request), "reserved room", "pass")


def test_count_tokens_is_what_a_text_adds_to_the_prompt(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    """Text of unknown density (document passages) is sized by the engine's count, not by
    characters: the starter model reads English prose at about 5 characters a token and
    Russian at about 1.3, so the count must come from the model's tokenizer."""
    prose = "The lighthouse keeper walked along the shore every morning, counting the boats."
    russian = "Смотритель маяка каждое утро шёл вдоль берега и считал лодки у причала."  # noqa: RUF001
    empty, english, dense = engine.count_tokens(["", prose, russian]).result(timeout=TIMEOUT)
    assert empty <= 1  # nothing, or a server tokenizer's start token
    assert len(prose) / english > 2 * len(russian) / dense
    note, with_text = (
        engine.render(ask((Message.of("user", f"Note:{text}"),))).result(timeout=TIMEOUT)
        for text in ("", "\n" + russian)
    )
    if with_text.exact:  # the count is what the text adds to the prompt the model reads
        assert abs(with_text.tokens - note.tokens - dense) <= 1
    checked = "as rendered" if with_text.exact else "the server's tokenizer"
    record(implementation(request), "count tokens", f"pass ({checked})")
