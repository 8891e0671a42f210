"""The API server as the window and ``chatdesk serve`` run it: over the app's services."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from chatdesk.cli.main import main
from chatdesk.engine.types import LoadOptions
from chatdesk.services.app_services import AppServices
from chatdesk.services.engine_session import ModelState
from chatdesk.store import Store
from tests.support.openai_servers import MODEL_ID, LlamaCppServer, free_port
from tests.support.scripted_engine import ScriptedEngine

HELLO = [{"role": "user", "content": "Hello API"}]
FRANCE = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


@pytest.fixture
def services(tmp_path: Path) -> Iterator[AppServices]:
    model = tmp_path / "scripted-model.gguf"
    model.write_bytes(b"GGUF" + bytes(60))
    app = AppServices.create(client_factory=lambda: ScriptedEngine(tokens=60, rate=60.0))
    app.engine.load(str(model), LoadOptions(model))
    assert app.engine.status.state is ModelState.READY
    yield app
    app.close()


def test_saved_api_exchanges_become_conversations(services: AppServices) -> None:
    server = services.api_server
    server.start("127.0.0.1", free_port(), save=True)
    client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0)
    answer = client.chat.completions.create(
        model="scripted-model",
        messages=[{"role": "system", "content": "Be kind."}, *HELLO],  # type: ignore[list-item]
    )
    deadline = time.monotonic() + 5
    while server.saved == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    conversation = services.store.list_conversations()[0]
    assert conversation.title == "Hello API"
    assert conversation.system_prompt == "Be kind."
    rows = services.store.active_path(conversation.id)
    assert [(m.role, m.status) for m in rows] == [("user", "complete"), ("assistant", "complete")]
    assert rows[-1].content == answer.choices[0].message.content


def test_exchanges_are_not_saved_by_default(services: AppServices) -> None:
    server = services.api_server
    server.start("127.0.0.1", free_port())
    client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0)
    client.chat.completions.create(model="scripted-model", messages=HELLO)  # type: ignore[arg-type]
    time.sleep(0.3)
    assert services.store.list_conversations() == []


def test_the_window_reply_jumps_the_api_queue(services: AppServices) -> None:
    server = services.api_server
    server.start("127.0.0.1", free_port())
    assert services.engine.engine is not services.engine.raw_engine  # the priority lane
    client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0, timeout=60)
    streams = [
        client.chat.completions.create(
            model="scripted-model", messages=HELLO, stream=True, user=f"u{i}"
        )  # type: ignore[call-overload]
        for i in range(2)
    ]
    next(iter(streams[0]))  # the first API reply is running, the second queued
    conversation = services.turns.new_conversation()
    services.turns.send(conversation.id, "From the window")
    order = [(r.label, r.state) for r in server.requests()]
    assert order[0][1] == "running"
    assert order[1] == ("window", "queued")  # ahead of the waiting API request
    for stream in streams:
        for _chunk in stream:
            pass
    server.stop()
    assert services.engine.engine is services.engine.raw_engine


@contextlib.contextmanager
def serving(*flags: str) -> Iterator[tuple[openai.OpenAI, list[str]]]:
    """``chatdesk serve FLAGS`` on a free port: a client once it lists a model; its stderr
    lines (after it stopped) in the list yielded with it."""
    port = free_port()
    command = [sys.executable, "-m", "chatdesk", "serve", "--port", str(port), *flags]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    err: list[str] = []
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(url + "/models", timeout=1).json()["data"]:
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                time.sleep(0.3)
        yield openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=120), err
    finally:
        process.terminate()
        err.extend(process.communicate(timeout=30)[1].splitlines())


@pytest.mark.slow
def test_chatdesk_serve_saves_conversations_when_asked(
    starter_model_path: Path, chatdesk_home: Path
) -> None:
    flags = ["--model", str(starter_model_path), "--threads", "1", "--ctx", "1024"]
    with serving(*flags, "--save-conversations") as (client, err):
        model = client.models.list().data[0].id
        assert model == starter_model_path.name.removesuffix(".gguf")
        client.chat.completions.create(
            model=model,
            messages=HELLO,
            max_tokens=8,
            temperature=0,  # type: ignore[arg-type]
        )
    assert any(f"serving {model} at {client.base_url}".rstrip("/") in line for line in err)
    assert "(only this computer can connect" in "\n".join(err)
    with Store() as store:
        titles = [c.title for c in store.list_conversations()]
    assert titles == ["Hello API"]


@pytest.mark.slow
def test_chatdesk_serve_serves_a_remote_engine_s_model_and_then_by_default(
    starter_model_path: Path, chatdesk_home: Path
) -> None:
    """``serve --engine NAME --model ID``: the API over a remote server's model (what a
    laptop does for the other machines at home when the model runs on a bigger one); and
    after a remote ``ask``, a plain ``serve`` serves that model, as the window would."""
    remote = LlamaCppServer(starter_model_path, threads=1)
    try:
        assert main(["engines", "add", "big", remote.url]) == 0
        with serving("--engine", "big", "--model", MODEL_ID) as (client, _):
            assert [m.id for m in client.models.list().data] == [MODEL_ID]
            answer = client.chat.completions.create(
                model=MODEL_ID, messages=FRANCE, max_tokens=8, temperature=0
            )
        assert "Paris" in (answer.choices[0].message.content or "")
        assert main(["ask", "--engine", "big", MODEL_ID, "Hi", "--max-tokens", "2"]) == 0
        with serving() as (client, err):
            served = [m.id for m in client.models.list().data]
        assert served == [MODEL_ID], err
    finally:
        remote.close()
