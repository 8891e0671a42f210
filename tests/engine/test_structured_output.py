"""Structured output through the engine host with the real starter model.

What a user checks: the reply parses and follows the schema (at temperature 1.0 too), a
schema that cannot be enforced is refused before anything is generated (keyword and path in
the message), and a reply cut off by the token limit is reported as incomplete.
"""

from __future__ import annotations

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.constrain import check_reply, format_constraint
from chatdesk.engine.request import ChatRequest, ResponseFormat
from chatdesk.engine.types import EngineError, SamplingSettings

pytestmark = pytest.mark.slow

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 24},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "city": {"type": "string", "maxLength": 24},
        "pets": {"type": "array", "items": {"enum": ["cat", "dog", "fish"]}, "maxItems": 3},
    },
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}
ASK = [{"role": "user", "content": "Invent a person. Answer as JSON with name, age and city."}]


def ask(engine: EngineClient, wanted: ResponseFormat, **sampling: object) -> tuple[str, str]:
    settings = SamplingSettings(**{"temperature": 1.0, "max_tokens": 120, **sampling})  # type: ignore[arg-type]
    stream = engine.generate(ChatRequest.of(ASK, sampling=settings, response_format=wanted))
    stats = stream.wait(timeout=600)
    return stream.text, stats.finish_reason


def test_replies_follow_the_schema_at_temperature_one(starter_engine: EngineClient) -> None:
    wanted = ResponseFormat("json_schema", PERSON, "person")
    constraint = format_constraint(wanted)
    assert constraint is not None
    for seed in range(3):
        text, finish = ask(starter_engine, wanted, seed=seed)
        verdict = check_reply(text, constraint, finish)
        assert verdict.valid, (text, verdict.error)
        assert 0 <= verdict.value["age"] <= 120


def test_json_object_mode_gives_an_object(starter_engine: EngineClient) -> None:
    wanted = ResponseFormat("json_object")
    text, finish = ask(starter_engine, wanted, seed=7, temperature=0.0)
    constraint = format_constraint(wanted)
    assert constraint is not None
    assert check_reply(text, constraint, finish).valid, text


def test_an_unenforceable_schema_is_refused_before_generating(
    starter_engine: EngineClient,
) -> None:
    schema = {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}}
    stream = starter_engine.generate(
        ChatRequest.of(ASK, response_format=ResponseFormat("json_schema", schema))
    )
    with pytest.raises(EngineError) as refused:
        stream.wait(timeout=120)
    assert refused.value.code == "bad_request"
    assert "'format'" in refused.value.message
    assert "/properties/email/format" in refused.value.message
    assert stream.text == ""


def test_a_reply_cut_off_by_max_tokens_is_incomplete_not_valid(
    starter_engine: EngineClient,
) -> None:
    wanted = ResponseFormat("json_schema", PERSON)
    text, finish = ask(starter_engine, wanted, seed=1, max_tokens=5)
    assert finish == "length"
    constraint = format_constraint(wanted)
    assert constraint is not None
    verdict = check_reply(text, constraint, finish)
    assert verdict.status == "incomplete"
    assert "incomplete JSON" in (verdict.error or "")
