"""Fair queueing on the real engine host, and the bind-address rules of ``chatdesk serve``."""

from __future__ import annotations

import socket

import pytest

from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.server import BindError, check_bind, is_loopback
from chatdesk.cli.main import main
from chatdesk.engine.client import ReplyStream
from chatdesk.engine.types import ReplyDone, SamplingSettings
from tests.support.chat_requests import chat
from tests.support.recording_engine import RecordingEngine
from tests.support.scripted_engine import ScriptedEngine

SHORT = SamplingSettings(temperature=0, max_tokens=3)
HI = [{"role": "user", "content": "Hi"}]


@pytest.mark.slow
def test_round_robin_between_clients_and_the_window_first(api_engine: RecordingEngine) -> None:
    scheduler = FairScheduler(api_engine)
    order: list[str] = []

    def track(name: str, client: str, priority: bool = False) -> ReplyStream:
        stream = scheduler.generate(client, chat(HI, sampling=SHORT), priority=priority, label=name)
        stream.on_event(lambda e: order.append(name) if isinstance(e, ReplyDone) else None)
        return stream

    streams = [track(name, "A") for name in ("a1", "a2", "a3")]
    streams += [track(name, "B") for name in ("b1", "b2")]
    streams.append(track("window", "window", priority=True))
    queued = [r.label for r in scheduler.requests()]
    assert queued[0] == "a1"  # running
    assert queued[1] == "window"  # next, ahead of every API request
    for stream in streams:
        stream.wait(timeout=300)
    assert order == ["a1", "window", "b1", "a2", "b2", "a3"]


@pytest.mark.slow
def test_cancelling_a_queued_request_removes_it(api_engine: RecordingEngine) -> None:
    scheduler = FairScheduler(api_engine)
    first = scheduler.generate("A", chat(HI, sampling=SamplingSettings(max_tokens=30)))
    queued = scheduler.generate("B", chat(HI, sampling=SHORT))
    queued.cancel()
    assert queued.wait(timeout=5).finish_reason == "cancelled"
    assert [r.client for r in scheduler.requests()] in (["A"], [])
    first.wait(timeout=300)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_needs_no_key(host: str) -> None:
    assert is_loopback(host)
    assert "loopback" in check_bind(host, None)


def test_other_addresses_need_an_api_key() -> None:
    with pytest.raises(BindError, match="set an API key"):
        check_bind("0.0.0.0", None)
    assert "Authorization: Bearer" in check_bind("0.0.0.0", "k")


def test_serve_refuses_a_public_bind_without_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--model", "nothing.gguf"]) == 1
    assert "set an API key" in capsys.readouterr().err


def test_serve_says_a_taken_port_is_in_use_before_it_looks_at_the_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--model", "nothing.gguf"]) == 1
    assert capsys.readouterr().err == (
        f"chatdesk: error: port {port} is already in use on 127.0.0.1; choose another with --port\n"
    )


def test_serve_refuses_an_empty_key_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHATDESK_TEST_KEY", raising=False)
    assert main(["serve", "--api-key-env", "CHATDESK_TEST_KEY", "--model", "x.gguf"]) == 1
    assert "CHATDESK_TEST_KEY" in capsys.readouterr().err


def test_a_hold_starts_no_api_reply_until_released_but_lets_the_window_s_start(
    scripted_engine: ScriptedEngine,
) -> None:
    scheduler = FairScheduler(scripted_engine)
    release = scheduler.hold()  # the window preparing a turn
    api = scheduler.generate("A", chat(HI, sampling=SHORT), label="api")
    assert [(r.label, r.state) for r in scheduler.requests()] == [("api", "queued")]
    window = scheduler.generate("window", chat(HI, sampling=SHORT), priority=True, label="w")
    window.wait(timeout=30)  # the window's reply is not held
    assert not api.done
    release()
    release()  # a second release changes nothing: later holds still hold
    api.wait(timeout=30)
    release_again = scheduler.hold()
    held = scheduler.generate("B", chat(HI, sampling=SHORT), label="held")
    assert [(r.label, r.state) for r in scheduler.requests()] == [("held", "queued")]
    release_again()
    held.wait(timeout=30)
