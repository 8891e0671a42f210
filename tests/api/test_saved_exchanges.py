"""``--save-conversations`` over the real engine host and starter model: an API exchange is
saved as a window turn would be (tool turns, token probabilities, a reply cut short by the
host's death), seen through the store, the JSON export and its import."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions
from chatdesk.services.app_services import AppServices
from chatdesk.services.engine_session import ModelState
from chatdesk.store import Message
from tests.support.openai_servers import free_port, require

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]


@pytest.fixture
def services(starter_model_path: Path) -> Iterator[AppServices]:
    require("llama_cpp")
    app = AppServices.create()
    app.engine.load(str(starter_model_path), LoadOptions(starter_model_path, n_ctx=2048))
    deadline = time.monotonic() + 120
    while app.engine.status.state is not ModelState.READY and time.monotonic() < deadline:
        time.sleep(0.1)
    app.api_server.start("127.0.0.1", free_port(), save=True)
    yield app
    app.close()


def client(services: AppServices) -> openai.OpenAI:
    return openai.OpenAI(base_url=services.api_server.url, api_key="x", max_retries=0, timeout=120)


def model_id(services: AppServices) -> str:
    return client(services).models.list().data[0].id


def saved(services: AppServices, count: int = 1) -> list[Message]:
    """The active path of the newest saved conversation, once ``count`` were saved."""
    deadline = time.monotonic() + 20
    while services.api_server.saved < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert services.api_server.saved == count
    return services.store.active_path(services.store.list_conversations()[0].id)


def exported(services: AppServices, path: Path) -> dict[str, dict[str, Any]]:
    """The saved conversation's messages in its JSON export, by id."""
    conversation = services.store.list_conversations()[0]
    services.export.json(conversation.id, path)
    (record,) = json.loads(path.read_text())["conversations"]
    return {m["id"]: m for m in record["messages"]}


def read_killing(stream: Any, engine: EngineClient, seen: list[str]) -> None:
    """Read a streamed reply into ``seen``, killing the engine host once some text arrived."""
    for chunk in stream:
        seen.append((chunk.choices[0].delta.content or "") if chunk.choices else "")
        if len("".join(seen)) > 20 and engine.host_pid is not None:
            os.kill(engine.host_pid, signal.SIGKILL)


def test_the_tool_turns_a_request_sends_are_saved(services: AppServices, tmp_path: Path) -> None:
    call = {"id": "c1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}  # fmt: skip
    messages = [*ASK, {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny, 24 C"}]  # fmt: skip
    client(services).chat.completions.create(
        model=model_id(services),
        messages=messages,
        tools=[WEATHER],
        max_tokens=8,
        temperature=0,
    )  # type: ignore[call-overload]
    _user, step, result, _reply = saved(services)
    assert step.tool_calls is not None
    assert step.tool_calls[0]["id"] == "c1"
    assert step.tool_calls[0]["function"] == {"name": "get_weather", "arguments": {"city": "Paris"}}
    assert (result.role, result.tool_call_id, result.content) == ("tool", "c1", "sunny, 24 C")
    rows = exported(services, tmp_path / "saved.json")
    assert rows[step.id]["tool_calls"] == step.tool_calls
    assert rows[result.id]["tool_call_id"] == "c1"
    (imported,) = services.export.import_file(tmp_path / "saved.json")
    again = services.store.active_path(imported)
    assert [(m.tool_calls, m.tool_call_id) for m in again][1:3] == [
        (step.tool_calls, None), (None, "c1")
    ]  # fmt: skip


@pytest.mark.parametrize("stream", [False, True])
def test_a_reply_the_server_answered_with_calls_is_saved_with_them(
    services: AppServices, stream: bool
) -> None:
    answer = client(services).chat.completions.create(
        model=model_id(services),
        messages=ASK,
        tools=[WEATHER],
        tool_choice="required",
        max_tokens=100,
        temperature=0,
        stream=stream,
    )  # type: ignore[call-overload]
    if stream:
        sent = [c.function for chunk in answer if chunk.choices
                for c in chunk.choices[0].delta.tool_calls or []]  # fmt: skip
    else:
        sent = [c.function for c in answer.choices[0].message.tool_calls]
    assert [f.name for f in sent][:1] == ["get_weather"]
    reply = saved(services)[-1]
    assert reply.tool_calls is not None
    assert [c["function"]["name"] for c in reply.tool_calls] == [f.name for f in sent]
    assert [c["function"]["arguments"] for c in reply.tool_calls] == [
        json.loads(f.arguments) for f in sent
    ]
    assert "get_weather" not in reply.content  # the call is not saved as text
    assert reply.status == "complete"


def test_token_probabilities_asked_for_are_saved_with_the_reply(services: AppServices) -> None:
    answer = client(services).chat.completions.create(
        model=model_id(services),
        messages=ASK,
        max_tokens=6,
        temperature=0,
        logprobs=True,
        top_logprobs=3,
    )  # type: ignore[call-overload]
    sent = answer.choices[0].logprobs.content
    reply = saved(services)[-1]
    kept = services.store.token_probabilities(reply.id)
    assert kept is not None
    assert [c.text for c in kept] == [t.token for t in sent]
    assert [len(c.top) for c in kept] == [len(t.top_logprobs) for t in sent]
    assert reply.settings["logprobs"] == 3  # the window shows its token probabilities


def test_a_reply_cut_short_by_the_engine_host_dying_is_saved(services: AppServices) -> None:
    engine = services.engine.raw_engine
    assert isinstance(engine, EngineClient)
    stream = client(services).chat.completions.create(
        model=model_id(services),
        messages=[{"role": "user", "content": "Tell a long story."}],
        max_tokens=2000,
        stream=True,
    )  # type: ignore[call-overload]
    seen: list[str] = []
    with pytest.raises(openai.APIError):  # the stream's error event
        read_killing(stream, engine, seen)
    reply = saved(services)[-1]
    assert reply.status == "interrupted"
    assert reply.content.startswith("".join(seen).strip())
    assert reply.error
    assert reply.finish_reason == "error"
