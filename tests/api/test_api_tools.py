"""OpenAI function calling through ChatDesk's API server, with the official ``openai``
client, the real engine host and the starter model (generic format: its template has no
tools, so the server describes them and holds the reply to a call with a grammar)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import pytest

from chatdesk.api.server import ApiServer
from tests.api.conftest import MODEL_ID

pytestmark = pytest.mark.slow
WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
TIME: dict[str, Any] = {
    "type": "function",
    "function": {"name": "get_time", "description": "The time now", "parameters": {
        "type": "object", "properties": {}, "additionalProperties": False}},
}  # fmt: skip
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
SETTINGS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 128, "seed": 1}


def client(server: ApiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=300)


def test_a_required_call_comes_back_as_tool_calls(api_server: ApiServer) -> None:
    answer = client(api_server).chat.completions.create(
        model=MODEL_ID, messages=ASK, tools=[WEATHER, TIME], tool_choice="required",
        parallel_tool_calls=False, **SETTINGS,
    )  # type: ignore[call-overload]  # fmt: skip
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls
    for call in choice.message.tool_calls:
        assert call.type == "function"
        assert call.id
        tool = {"get_weather": WEATHER, "get_time": TIME}[call.function.name]
        jsonschema.validate(json.loads(call.function.arguments), tool["function"]["parameters"])


def test_streamed_tool_call_deltas_join_to_the_same_calls(api_server: ApiServer) -> None:
    api = client(api_server)
    options = dict(
        model=MODEL_ID, messages=ASK, tools=[WEATHER], tool_choice="required",
        parallel_tool_calls=False,
    )  # fmt: skip
    whole = api.chat.completions.create(**options, **SETTINGS)  # type: ignore[call-overload]
    stream = api.chat.completions.create(**options, **SETTINGS, stream=True)  # type: ignore[call-overload]
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            entry = calls.setdefault(delta.index, {"name": "", "arguments": ""})
            entry["name"] += delta.function.name or ""
            entry["arguments"] += delta.function.arguments or ""
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    assert finish == "tool_calls"
    expected = [
        {"name": c.function.name, "arguments": json.loads(c.function.arguments)}
        for c in whole.choices[0].message.tool_calls or []
    ]
    got = [{"name": c["name"], "arguments": json.loads(c["arguments"])} for c in calls.values()]
    assert got == expected
    assert got[0]["name"] == "get_weather"


def test_a_named_tool_and_one_call_when_parallel_calls_are_off(api_server: ApiServer) -> None:
    answer = client(api_server).chat.completions.create(
        model=MODEL_ID, messages=ASK, tools=[WEATHER, TIME], parallel_tool_calls=False,
        tool_choice={"type": "function", "function": {"name": "get_time"}}, **SETTINGS,
    )  # type: ignore[call-overload]  # fmt: skip
    calls = answer.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_time"]


def test_tool_results_are_taken_on_the_next_request(api_server: ApiServer) -> None:
    api = client(api_server)
    history: list[Any] = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 24 degrees"},
    ]  # fmt: skip
    answer = api.chat.completions.create(
        model=MODEL_ID, messages=history, tools=[WEATHER], tool_choice="none", **SETTINGS
    )  # type: ignore[call-overload]
    choice = answer.choices[0]
    assert choice.finish_reason in ("stop", "length")
    assert not choice.message.tool_calls
    assert choice.message.content


def test_a_named_tool_that_is_not_offered_is_a_clear_400(api_server: ApiServer) -> None:
    with pytest.raises(openai.BadRequestError, match="not among the tools"):
        client(api_server).chat.completions.create(
            model=MODEL_ID, messages=ASK, tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )  # type: ignore[call-overload]  # fmt: skip
