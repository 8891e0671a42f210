"""The API maps an OpenAI body onto the engine's request: what it cannot honour is refused
with an OpenAI error naming the field, never ignored (official openai client, real model)."""

from __future__ import annotations

import openai
import pytest

from chatdesk.api.server import ApiServer
from tests.api.conftest import MODEL_ID

pytestmark = pytest.mark.slow
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def client(server: ApiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=120)


def test_a_field_the_server_does_not_take_is_refused_by_name(api_server: ApiServer) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError) as refused:
        client(api_server).chat.completions.create(
            model=MODEL_ID, messages=QUESTION, tools=[tool], max_tokens=4
        )  # type: ignore[call-overload]
    assert "not supported by this server: tools" in refused.value.message
    assert refused.value.code == "unsupported_parameter"


def test_a_schema_the_engine_cannot_enforce_is_refused(api_server: ApiServer) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    with pytest.raises(openai.BadRequestError) as refused:
        client(api_server).chat.completions.create(
            model=MODEL_ID,
            messages=QUESTION,
            max_tokens=4,
            response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
        )  # type: ignore[call-overload]
    assert "response_format 'json_schema'" in refused.value.message
    assert refused.value.code == "unsupported"


def test_null_fields_and_a_text_format_are_taken(api_server: ApiServer) -> None:
    answer = client(api_server).chat.completions.create(
        model=MODEL_ID,
        messages=QUESTION,
        max_tokens=4,
        temperature=0,
        response_format={"type": "text"},
        extra_body={"logit_bias": None},
    )
    assert answer.choices[0].message.content
