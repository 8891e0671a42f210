"""Structured output through a remote engine (a real llama-cpp-python server).

The schema is passed through as ``response_format`` (the engine states "passed through":
the server enforces it, not ChatDesk), and the reply is validated on arrival all the same:
by the turn's structured-output hook (``services/structured.py``), here its check directly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatdesk.engine.constrain import check_reply, format_constraint
from chatdesk.engine.request import ChatRequest, ResponseFormat
from chatdesk.engine.types import LoadOptions, SamplingSettings
from chatdesk.remote.connection import ServerAddress
from chatdesk.remote.engine import RemoteEngine
from tests.support.openai_servers import MODEL_ID, LlamaCppServer

pytestmark = pytest.mark.slow
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 3},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture
def remote(llama_server: LlamaCppServer) -> Iterator[RemoteEngine]:
    engine = RemoteEngine(ServerAddress(llama_server.url, read_timeout=120.0), name="test")
    engine.load(LoadOptions(MODEL_ID)).result(timeout=60)
    yield engine
    engine.close()


def ask(remote: RemoteEngine, wanted: ResponseFormat, content: str) -> tuple[str, str]:
    request = ChatRequest.of(
        [{"role": "user", "content": content}],
        sampling=SamplingSettings(temperature=0.7, seed=3, max_tokens=120),
        response_format=wanted,
    )
    handle = remote.generate(request)
    stats = handle.wait(timeout=300)
    return handle.text, stats.finish_reason


def test_the_schema_is_passed_through_and_the_reply_validated(remote: RemoteEngine) -> None:
    assert remote.capabilities.response_format == "passed_through"
    assert "JSON output (by the server)" in remote.capabilities.describe()
    text_field = {"type": "string"}
    schema = {"type": "object", "properties": {"name": text_field, "city": text_field},
              "required": ["name", "city"], "additionalProperties": False}  # fmt: skip
    wanted = ResponseFormat("json_schema", schema, "person")
    text, finish = ask(remote, wanted, "Invent a person as JSON.")
    constraint = format_constraint(wanted)
    assert constraint is not None
    verdict = check_reply(text, constraint, finish)
    assert verdict.valid, (text, verdict.error)


def test_a_keyword_the_server_ignores_is_caught_on_arrival(remote: RemoteEngine) -> None:
    """llama-cpp-python's server drops integer bounds from its grammar; ChatDesk's check
    on arrival says so instead of passing the reply off as following the schema."""
    wanted = ResponseFormat("json_schema", PERSON, "person")
    text, finish = ask(remote, wanted, "Describe a person aged 40 as JSON.")
    constraint = format_constraint(wanted)
    assert constraint is not None
    verdict = check_reply(text, constraint, finish)
    assert verdict.status == "invalid", text
    assert "maximum" in (verdict.error or "")
