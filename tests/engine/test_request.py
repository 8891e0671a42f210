"""The one request value: immutable, validated, one JSON frame, and refused fields named."""

from __future__ import annotations

import json

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import (
    ChatRequest,
    EngineCapabilities,
    Message,
    ResponseFormat,
    ToolChoice,
    ToolSpec,
    unsupported,
)
from chatdesk.engine.types import EngineError, ErrorCode, ReplyFailed, SamplingSettings

TOOL = ToolSpec("calc", "Arithmetic", {"type": "object", "properties": {"x": {"type": "string"}}})
CALL = {"id": "c1", "type": "function", "function": {"name": "calc", "arguments": {"x": "3+3"}}}
EVERYTHING = ChatRequest.of(
    [
        {"role": "user", "content": "2+2?", "example": True},
        {"role": "assistant", "content": "4", "example": True},
        {"role": "user", "content": "And 3+3?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "calc", "arguments": {"x": "3+3"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "name": "calc", "content": "6"},
        {"role": "assistant", "content": "It is", "reasoning_content": "add them"},
    ],
    system_prompt="Be brief.",
    sampling=SamplingSettings(temperature=0.0, stop=("\n",), logprobs=2),
    tools=(TOOL,),
    tool_choice=ToolChoice("named", "calc"),
    parallel_tool_calls=False,
    response_format=ResponseFormat("json_schema", {"type": "object"}, "reply"),
    conversation_key="c-1",
)


def test_the_wire_form_round_trips_through_json() -> None:
    frame = json.loads(json.dumps(EVERYTHING.to_wire()))
    assert ChatRequest.from_wire(frame) == EVERYTHING
    assert EVERYTHING.continues
    assert [m.text for m in EVERYTHING.examples] == ["2+2?", "4"]
    assert EVERYTHING.logprobs == 2  # taken from the sampling settings: both agree
    assert EVERYTHING.messages[3].tool_calls[0].arguments == '{"x": "3+3"}'
    assert EVERYTHING.messages[-1].reasoning == "add them"


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        ({"messages": "hi"}, "request.messages must be a list"),
        ({"messages": [], "temperature": 0.5}, "unknown field(s): temperature"),
        ({"messages": [{"role": "robot"}]}, "role must be one of"),
        ({"messages": [], "sampling": {"top_k": "many"}}, "sampling.top_k must be int"),
        ({"messages": [], "sampling": {"mirostat": 2}}, "sampling has unknown field(s)"),
        ({"messages": [], "logprobs": 99}, "logprobs must be 0 to 20"),
        ({"messages": [], "reserved_tokens": -5}, "reserved_tokens must be 0 or more"),
        ({"messages": [], "reserved_tokens": "lots"}, "reserved_tokens must be int"),
        ({"messages": [], "tool_choice": {"mode": "named", "name": "nope"}}, "not among"),
        ({"messages": [], "response_format": {"type": "json_schema"}}, "needs a schema"),
        ({"messages": [{"role": "user", "content": [{"type": "image"}]}]}, "not supported"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_a_bad_frame_is_refused_with_a_clear_message(frame: object, says: str) -> None:
    with pytest.raises(EngineError, match="bad request") as refused:
        ChatRequest.from_wire(frame)
    assert refused.value.code == ErrorCode.BAD_REQUEST
    assert says in refused.value.message


def test_examples_must_lead_and_values_stay_immutable() -> None:
    late = (Message.of("user", "q"), Message.of("assistant", "a", example=True))
    with pytest.raises(EngineError, match="before the conversation"):
        ChatRequest(late)
    changed = EVERYTHING.replace(system_prompt="Be long.")
    assert changed.system_prompt == "Be long."
    assert EVERYTHING.system_prompt == "Be brief."
    assert hash(changed) != hash(EVERYTHING)


def test_unsupported_names_every_field_an_engine_cannot_honour() -> None:
    assert unsupported(EVERYTHING, EngineCapabilities()) == [
        "tools",
        "tool_choice 'named'",
        "parallel_tool_calls false",
        "response_format 'json_schema'",
        "logprobs (token probabilities)",
        "continue (the last message is the assistant's)",
        "few-shot examples (pinned)",
    ]
    everything = EngineCapabilities(
        tools="native",
        tool_choice=("auto", "none", "required", "named"),
        single_tool_call=True,
        response_format="enforced",
        logprobs=True,
        continuation=True,
        example_pinning=True,
    )
    assert unsupported(EVERYTHING, everything) == []
    assert everything.describe().startswith("tools, JSON output, token probabilities")


def test_the_engine_host_refuses_a_malformed_frame(engine: EngineClient) -> None:
    stream = engine._stream("generate", {"request": {"messages": [{"role": "robot"}]}})
    events = list(stream)
    assert len(events) == 1
    assert isinstance(events[0], ReplyFailed)
    assert events[0].error.code == ErrorCode.BAD_REQUEST
    assert "role must be one of" in events[0].error.message
    assert engine.status().result(30)["model"] is not None  # the host carries on


def test_a_schema_keeps_its_property_order() -> None:
    """A constrained reply writes properties in the schema's order ("reasoning" before
    "answer"); the request must not sort them (issue 23 found it alphabetical)."""
    from chatdesk.engine.request import ResponseFormat

    schema = {"type": "object", "properties": {"reasoning": {}, "answer": {}, "a": {}}}
    kept = ResponseFormat("json_schema", schema).schema_dict
    assert kept is not None
    assert list(kept["properties"]) == ["reasoning", "answer", "a"]
