"""Remote-engine pieces that need no server: sampling map, SSE parsing, URLs, estimates."""

from __future__ import annotations

import dataclasses
import time

import pytest

from chatdesk.engine.request import ChatRequest, Message, ToolSpec
from chatdesk.engine.token_estimate import estimate_tokens
from chatdesk.engine.types import EngineError, SamplingSettings
from chatdesk.remote.connection import AddressError, ServerAddress, normalize_base_url, root_url
from chatdesk.remote.engine import (
    RemoteEngine,
    in_band_calls,
    parse_chunk,
    remote_model_info,
    sse_payloads,
)
from chatdesk.remote.errors import server_message, status_error
from chatdesk.remote.request_body import api_tools, chat_messages
from chatdesk.remote.sampling import map_sampling
from chatdesk.remote.server_info import (
    LEAST_SCALE,
    MOST_SCALE,
    ServerFacts,
    context_length_of,
    parse_models,
)
from chatdesk.tools.streaming import parse_reply
from tests.support.chat_requests import short_turns


def test_a_plain_openai_server_gets_only_standard_fields_and_the_rest_is_reported() -> None:
    settings = SamplingSettings(temperature=0.3, top_k=40, seed=7, repeat_penalty=1.1)
    report = map_sampling(settings, "openai-compatible")
    assert report.sent == {
        "temperature": 0.3,
        "top_p": 0.95,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "seed": 7,
        "max_tokens": 1024,
    }
    assert report.not_sent == ("top_k", "min_p", "repeat_penalty")
    assert "not sent: top_k, min_p, repeat_penalty" in report.describe()


def test_vllm_gets_its_own_name_for_the_repeat_penalty() -> None:
    report = map_sampling(SamplingSettings(repeat_penalty=1.2, stop=("END",)), "vllm")
    assert report.sent["repetition_penalty"] == 1.2
    assert report.sent["stop"] == ["END"]
    assert report.not_sent == ()


def test_neutral_values_are_not_reported_as_dropped() -> None:
    neutral = SamplingSettings(top_k=0, min_p=0.0, repeat_penalty=1.0)
    assert map_sampling(neutral, "openai-compatible").not_sent == ()


def test_sse_payloads_join_multi_line_data_and_skip_comments() -> None:
    lines = [": ping", 'data: {"a":', "data: 1}", "", "event: x", "data: [DONE]", ""]
    assert list(sse_payloads(lines)) == ['{"a":\n1}', "[DONE]"]


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", '{"choices": 5}'])
def test_malformed_chunks_are_errors_quoting_them(payload: str) -> None:
    with pytest.raises(EngineError, match="malformed event"):
        parse_chunk(payload)


def test_an_error_event_is_a_server_error() -> None:
    with pytest.raises(EngineError, match="mid-reply: out of memory"):
        parse_chunk('{"error": {"message": "out of memory"}}')


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://gpu:8000", "http://gpu:8000/v1"),
        ("http://gpu:8000/v1/", "http://gpu:8000/v1"),
        ("https://api.example.com/openai/v1", "https://api.example.com/openai/v1"),
    ],
)
def test_base_urls_are_normalized(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


@pytest.mark.parametrize("bad", ["gpu:8000", "ftp://x/v1", "http://", "http://h/v1?x=1"])
def test_bad_base_urls_are_refused(bad: str) -> None:
    with pytest.raises(AddressError):
        normalize_base_url(bad)


def test_root_url_drops_v1() -> None:
    assert root_url("http://h:1/v1") == "http://h:1"


def test_context_length_from_each_server_family() -> None:
    assert context_length_of({"max_model_len": 32768}) == 32768  # vLLM
    assert context_length_of({"meta": {"n_ctx_train": 8192}}) == 8192  # llama-server
    assert context_length_of({"max_context_length": 4096}) == 4096  # LM Studio
    assert context_length_of({"id": "x"}) is None


def test_model_list_must_be_openai_shaped() -> None:
    assert [m.id for m in parse_models({"data": [{"id": "a"}, {"id": 3}, "x"]})] == ["a"]
    with pytest.raises(EngineError, match="model list"):
        parse_models({"models": []})


def test_server_messages_are_quoted_from_openai_and_fastapi_bodies() -> None:
    assert server_message(b'{"error": {"message": "bad key"}}') == "bad key"
    assert server_message(b'{"detail": "Not Found"}') == "Not Found"
    assert server_message(b"plain words") == "plain words"
    error = status_error(429, b"", "http://h/v1", None)
    assert error.code == "rate_limited"


def test_tool_history_is_sent_as_the_api_spells_it() -> None:
    history = [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "calculator", "arguments": {"expression": "2+2"}}}]},
        {"role": "tool", "content": "4", "tool_call_id": "c1", "name": "calculator"},
    ]  # fmt: skip
    sent = chat_messages("Be brief.", [Message.from_chat(m) for m in history])
    assert sent[0] == {"role": "system", "content": "Be brief."}
    call = sent[2]["tool_calls"][0]
    arguments = '{"expression": "2+2"}'
    assert call == {"id": "c1", "type": "function",
                    "function": {"name": "calculator", "arguments": arguments}}  # fmt: skip
    assert sent[3] == {"role": "tool", "content": "4", "tool_call_id": "c1"}


def test_streamed_structured_calls_reach_the_tool_loop_as_calls() -> None:
    fragments: dict[int, dict[str, str]] = {
        0: {"name": "calculator", "arguments": '{"expression": '},
        1: {"name": "current_time", "arguments": "{}"},
    }
    fragments[0]["arguments"] += '"6*7"}'
    parsed = parse_reply(in_band_calls(fragments))
    assert parsed.content == ""
    assert [(c.name, c.arguments) for c in parsed.calls] == [
        ("calculator", {"expression": "6*7"}),
        ("current_time", {}),
    ]


def test_tool_schemas_become_api_function_tools() -> None:
    schema = {"name": "calculator", "description": "", "parameters": {"type": "object"}}
    wrapped = {"type": "function", "function": schema}
    tools = [ToolSpec.from_openai(schema), ToolSpec.from_openai(wrapped)]
    assert api_tools(tools) == [wrapped, wrapped]


def test_a_long_chat_sent_to_a_server_keeps_its_cut_as_it_grows() -> None:
    """A server's prefix cache (vLLM, llama-server) reuses only an unchanged prompt start:
    past the context, the oldest message sent must not move one turn each turn."""
    engine = RemoteEngine(ServerAddress("http://127.0.0.1:9"))  # fitting asks no server
    engine.model_info = remote_model_info("remote", "model", 2048, time.perf_counter())
    history = short_turns(300)
    cuts = []
    for number in range(6):
        history.append(Message.of("user", f"Question {number}: tell me about the sea."))
        request = ChatRequest(tuple(history), sampling=SamplingSettings(max_tokens=64))
        kept, fitted = engine.fit(request)
        assert fitted.dropped_count > 0
        assert kept[-1] == history[-1]
        cuts.append(fitted.dropped_count)
        history.append(Message.of("assistant", "A reply of some length. " * 10))
    engine.close()
    assert len(set(cuts)) <= 2, cuts


def test_a_server_s_chat_leaves_the_reserved_room_free() -> None:
    """Room a request reserves (document passages) is left free in what is sent to a
    server that reports its context, as the local engine leaves it."""
    engine = RemoteEngine(ServerAddress("http://127.0.0.1:9"))  # fitting asks no server
    engine.model_info = remote_model_info("remote", "model", 2048, time.perf_counter())
    history = (*short_turns(300), Message.of("user", "Question: tell me about the sea."))
    plain = ChatRequest(history, sampling=SamplingSettings(max_tokens=64))
    _kept, without = engine.fit(plain)
    _kept, reserving = engine.fit(dataclasses.replace(plain, reserved_tokens=512))
    engine.close()
    assert reserving.dropped_count > without.dropped_count
    assert reserving.prompt_tokens + 512 <= 2048 - 64


def test_the_estimate_learns_the_density_the_server_s_usage_shows() -> None:
    facts = ServerFacts(tokenize_path="")  # probed: the server has no tokenizer
    assert facts.estimate("word " * 90) == estimate_tokens("word " * 90) == 100
    facts.learn_density(estimated=100, counted=300)  # Korean on an English tokenizer
    assert facts.estimate("word " * 90) == 300
    facts.learn_density(estimated=10, counted=90)  # too short to tell: the template's
    assert facts.estimate("word " * 90) == 300
    facts.learn_density(estimated=300, counted=10**9)  # hostile usage: bounded
    assert facts.scale == MOST_SCALE
    facts.learn_density(estimated=10**6, counted=1)
    assert facts.scale == LEAST_SCALE
    counted = ServerFacts(tokenize_path="/tokenize")  # the server counts: nothing to learn
    counted.learn_density(estimated=100, counted=300)
    assert counted.scale == 1
