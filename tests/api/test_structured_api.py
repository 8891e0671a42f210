"""Structured output through ChatDesk's API server, with the official ``openai`` client.

``response_format`` json_schema (strict, and through ``client.beta.chat.completions.parse``
with a pydantic model) and json_object give replies that parse and validate; a schema that
cannot be enforced gets OpenAI's error shape (400, ``param`` response_format, the keyword
named) before anything is generated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from chatdesk.api.app import ApiConfig, create_app
from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.server import ApiServer
from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions
from tests.support.openai_servers import free_port, require

pytestmark = pytest.mark.slow
MODEL_ID = "smollm2"
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def server(starter_model_path: Path) -> Iterator[ApiServer]:
    require("llama_cpp")
    engine = EngineClient()
    engine.load(LoadOptions(starter_model_path, n_ctx=2048, n_threads=1)).result(timeout=300)
    api = ApiServer(create_app(FairScheduler(engine), ApiConfig(model_id=MODEL_ID)),
                    "127.0.0.1", free_port())  # fmt: skip
    api.start()
    yield api
    api.stop()
    engine.close()


def client(server: ApiServer) -> object:
    openai = pytest.importorskip("openai")
    return openai.OpenAI(base_url=server.url, api_key="x", max_retries=0, timeout=600)


ASK = [{"role": "user", "content": "Invent a person, as JSON."}]


def test_json_schema_strict_reply_validates(server: ApiServer) -> None:
    reply = client(server).chat.completions.create(  # type: ignore[attr-defined]
        model=MODEL_ID, messages=ASK, temperature=1.0, seed=5, max_tokens=100,
        response_format={"type": "json_schema",
                         "json_schema": {"name": "person", "schema": PERSON, "strict": True}},
    )  # fmt: skip
    jsonschema.validate(json.loads(reply.choices[0].message.content), PERSON)


def test_parse_with_a_pydantic_model(server: ApiServer) -> None:
    from pydantic import BaseModel

    class City(BaseModel):
        name: str
        country: str
        population: int

    completion = client(server).beta.chat.completions.parse(  # type: ignore[attr-defined]
        model=MODEL_ID, messages=[{"role": "user", "content": "Name a big city."}],
        response_format=City, temperature=0, max_tokens=200,
    )  # fmt: skip
    city = completion.choices[0].message.parsed
    assert isinstance(city, City)
    assert city.name


def test_json_object_reply_is_an_object(server: ApiServer) -> None:
    reply = client(server).chat.completions.create(  # type: ignore[attr-defined]
        model=MODEL_ID, messages=[{"role": "user", "content": 'Reply {"ok": true}'}],
        temperature=0, max_tokens=300, response_format={"type": "json_object"},
    )  # fmt: skip
    choice = reply.choices[0]
    if choice.finish_reason == "stop":
        assert isinstance(json.loads(choice.message.content), dict)
    else:  # cut off: the finish reason says so
        assert choice.finish_reason == "length"


def test_an_unenforceable_schema_is_an_openai_400(server: ApiServer) -> None:
    openai = pytest.importorskip("openai")
    schema = {"type": "object", "properties": {"when": {"type": "string", "format": "date"}}}
    with pytest.raises(openai.BadRequestError) as refused:
        client(server).chat.completions.create(  # type: ignore[attr-defined]
            model=MODEL_ID, messages=ASK,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        )  # fmt: skip
    error = refused.value.body
    assert isinstance(error, dict)
    assert error.get("param") == "response_format"
    assert "'format'" in error["message"]
    assert "/properties/when/format" in error["message"]
