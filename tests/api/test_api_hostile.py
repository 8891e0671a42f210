"""Hostile requests to ChatDesk's API server: DNS rebinding, lone surrogates, a bad port.

The server is the real one (uvicorn, the real engine host with the starter model); the
clients are the official ``openai`` client and httpx, forging what an attacker sends.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx
import openai
import pytest

from chatdesk.api.app import ApiConfig
from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.server import ApiServer, BindError, host_names, host_of
from chatdesk.engine.types import ErrorCode, ReplyFailed, SamplingSettings
from tests.api.conftest import MODEL_ID
from tests.support.chat_requests import chat
from tests.support.openai_servers import free_port
from tests.support.recording_engine import RecordingEngine

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
SURROGATE_BODY = (
    b'{"model": "' + MODEL_ID.encode() + b'", "max_tokens": 4,'
    b' "messages": [{"role": "user", "content": "hi \\ud800 there"}]}'
)


def client(server: ApiServer, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.url, api_key="unused", max_retries=0, timeout=60, default_headers=headers
    )


def test_a_rebound_host_name_is_refused(api_server: ApiServer) -> None:
    evil = client(api_server, Host=f"attacker.example:{api_server.port}")
    with pytest.raises(openai.APIStatusError) as raised:
        evil.models.list()
    assert raised.value.status_code == 421
    assert "DNS rebinding" in raised.value.message
    forged = httpx.post(
        api_server.url + "/chat/completions",
        json={"model": MODEL_ID, "messages": QUESTION, "max_tokens": 2},
        headers={"Host": "rebind.attacker.example"},
    )
    assert forged.status_code == 421
    assert forged.json()["error"]["code"] == "misdirected_request"


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_the_bound_names_are_served(api_server: ApiServer, name: str) -> None:
    port = api_server.port
    answer = httpx.get(api_server.url + "/models", headers={"Host": f"{name}:{port}"})
    assert answer.status_code == 200
    assert [m.id for m in client(api_server).models.list()] == [MODEL_ID]


def test_allowed_host_names_are_configurable(scheduler: FairScheduler) -> None:
    from chatdesk.api.app import create_app

    server = ApiServer(
        create_app(scheduler, ApiConfig(model_id=MODEL_ID)),
        "127.0.0.1",
        free_port(),
        allowed_hosts=("chatdesk.lan",),
    )
    server.start()
    try:
        assert [m.id for m in client(server, Host="chatdesk.lan").models.list()] == [MODEL_ID]
        with pytest.raises(openai.APIStatusError):
            client(server, Host="other.lan").models.list()
    finally:
        server.stop()


def test_host_names_rules() -> None:
    assert host_of("[::1]:8080") == "::1"
    assert host_of("Example.COM:80") == "example.com"
    assert host_names("0.0.0.0") is None
    assert host_names("127.0.0.1", ["*"]) is None
    assert host_names("192.168.1.5") == {"localhost", "127.0.0.1", "::1", "192.168.1.5"}


def post_raw(server: ApiServer, body: bytes) -> httpx.Response:
    headers = {"content-type": "application/json"}
    return httpx.post(server.url + "/chat/completions", content=body, headers=headers, timeout=60)


def test_a_lone_surrogate_is_a_400_that_names_it(api_server: ApiServer) -> None:
    started = time.monotonic()
    answer = post_raw(api_server, SURROGATE_BODY)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "lone surrogate" in error["message"]
    assert error["type"] == "invalid_request_error"
    assert time.monotonic() - started < 5  # was: 10 s, then a 500 "host closed its output"


def timed_normal_requests(server: ApiServer) -> tuple[float, float]:
    """Seconds for GET /v1/models and for one short chat completion."""
    started = time.monotonic()
    assert [m.id for m in client(server).models.list()] == [MODEL_ID]
    listed = time.monotonic() - started
    reply = client(server).chat.completions.create(
        model=MODEL_ID,
        messages=QUESTION,
        max_tokens=8,
        temperature=0,  # type: ignore[arg-type]
    )
    assert reply.choices[0].message.content
    return listed, time.monotonic() - started - listed


def test_hostile_requests_do_not_stall_the_others(api_server: ApiServer) -> None:
    _, alone = timed_normal_requests(api_server)
    stop = threading.Event()
    statuses: list[int] = []

    def attack() -> None:  # paced: the clients share this process's GIL with the server
        while not stop.wait(0.05):
            statuses.append(post_raw(api_server, SURROGATE_BODY).status_code)

    attackers = [threading.Thread(target=attack) for _ in range(4)]
    for thread in attackers:
        thread.start()
    try:
        time.sleep(0.3)
        listed, chat = timed_normal_requests(api_server)
    finally:
        stop.set()
        for thread in attackers:
            thread.join()
    # before the fix each hostile request held the event loop for 10 s
    assert listed < 5, f"GET /v1/models took {listed:.1f} s next to the hostile requests"
    assert chat < 2 * alone + 5, f"chat took {chat:.1f} s under attack, {alone:.1f} s alone"
    assert statuses
    assert set(statuses) == {400}


def test_the_engine_client_refuses_invalid_text_at_once(api_engine: RecordingEngine) -> None:
    started = time.monotonic()
    reply = api_engine.generate(chat([{"role": "user", "content": "a\udc80b"}]))
    events = list(reply)
    assert time.monotonic() - started < 5
    failed = [e for e in events if isinstance(e, ReplyFailed)]
    assert failed
    assert failed[0].error.code == ErrorCode.BAD_REQUEST
    assert "not valid Unicode" in failed[0].error.message
    again = api_engine.generate(chat(QUESTION, sampling=SamplingSettings(max_tokens=4)))
    assert again.wait(timeout=120).generated_tokens > 0  # the host is alive and answers


def test_an_impossible_port_is_one_line_without_traceback() -> None:
    command = [sys.executable, "-m", "chatdesk", "serve", "--port", "99999", "--model", "x.gguf"]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "chatdesk: error: port 99999 does not exist: ports go from 1 to 65535 (0: any free one)"
    ]
    with pytest.raises(BindError, match="port 70000"):
        start_api_on(70000)


def start_api_on(port: int) -> None:
    from fastapi import FastAPI

    ApiServer(FastAPI(), "127.0.0.1", port)
