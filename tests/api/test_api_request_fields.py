"""The API maps an OpenAI body onto the engine's request: what it cannot honour is refused
with an OpenAI error naming the field, never ignored (official openai client, real model)."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from chatdesk.api.server import ApiServer
from tests.api.conftest import MODEL_ID

pytestmark = pytest.mark.slow
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def client(server: ApiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=120)


def test_a_field_the_server_does_not_take_is_refused_by_name(api_server: ApiServer) -> None:
    """Function calling is taken now (issue 22); a field still not taken is refused."""
    with pytest.raises(openai.BadRequestError) as refused:
        client(api_server).chat.completions.create(
            model=MODEL_ID, messages=QUESTION, logit_bias={"42": 5}, max_tokens=4
        )  # type: ignore[call-overload]
    assert "not supported by this server: logit_bias" in refused.value.message
    assert refused.value.code == "unsupported_parameter"


def test_a_schema_the_engine_cannot_enforce_is_refused(api_server: ApiServer) -> None:
    """The local engine enforces JSON schemas (issue 23); one with a keyword it cannot
    enforce exactly is refused by name before anything is generated."""
    schema = {"type": "object", "properties": {"city": {"type": "string", "format": "uri"}}}
    with pytest.raises(openai.BadRequestError) as refused:
        client(api_server).chat.completions.create(
            model=MODEL_ID,
            messages=QUESTION,
            max_tokens=4,
            response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
        )  # type: ignore[call-overload]
    assert "cannot enforce 'format' at /properties/city/format" in refused.value.message
    assert refused.value.code == "invalid_json_schema"


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


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises(openai.BadRequestError) as refused:
        call()
    return refused.value.message


def test_what_cannot_be_served_is_refused_in_plain_words(api_server: ApiServer) -> None:
    """QA: these came back as pydantic's internals ("messages.0.content.function-after
    [valid_unicode(), str]: Input should be a valid string")."""
    api = client(api_server)
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    look = [{"role": "user", "content": [{"type": "text", "text": "What is it?"}, image]}]
    message = refusal(lambda: api.chat.completions.create(model=MODEL_ID, messages=look))  # type: ignore[arg-type]
    assert message.endswith(
        " - messages[0].content: image content is not supported: this server serves text models"
    )
    message = refusal(lambda: api.completions.create(model=MODEL_ID, prompt=["a", "b"]))
    assert message.endswith(
        " - prompt: a list of prompts is not supported: send one prompt per request"
    )


def test_fields_that_change_no_reply_are_taken(api_server: ApiServer) -> None:
    """QA: the openai client's ``store`` and ``metadata`` were refused, and llama.cpp's
    ``seed: -1`` (a random seed)."""
    answer = client(api_server).chat.completions.create(
        model=MODEL_ID,
        messages=QUESTION,
        max_tokens=4,
        store=True,
        metadata={"purpose": "qa"},
        user="ann",
        seed=-1,
    )
    assert answer.choices[0].message.content


@pytest.mark.parametrize("stream", [False, True])
def test_legacy_completions_logprobs_give_n_alternatives(
    api_server: ApiServer, stream: bool
) -> None:
    """QA: ``logprobs: 2`` on /v1/completions (the legacy API's integer) was refused as
    "logprobs: Input should be a valid boolean"."""
    prompt = "Once upon a time"
    answer = client(api_server).completions.create(
        model=MODEL_ID, prompt=prompt, max_tokens=6, temperature=0, logprobs=2, stream=stream
    )
    choices = [c for chunk in answer for c in chunk.choices] if stream else answer.choices
    text = "".join(c.text for c in choices)
    parts = [c.logprobs for c in choices if c.logprobs]
    tokens = [t for p in parts for t in p.tokens or []]
    assert "".join(tokens) == text
    assert [t for p in parts for t in p.text_offset or []] == [
        len(prompt) + len("".join(tokens[:n])) for n in range(len(tokens))
    ]
    tops = [t for p in parts for t in p.top_logprobs or []]
    assert all(len(top) == 2 for top in tops)
    chosen = [t for p in parts for t in p.token_logprobs or []]
    assert all(
        top[token] == logprob for top, token, logprob in zip(tops, tokens, chosen, strict=True)
    )
