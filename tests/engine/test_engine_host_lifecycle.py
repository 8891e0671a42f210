"""The host process: bad models, crashes, kills, restarts, unloading, the frozen command."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from chatdesk.engine import client as client_module
from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import (
    EngineError,
    EngineHostDied,
    ErrorCode,
    LoadOptions,
    SamplingSettings,
    TextDelta,
)
from tests.support import gguf_factory
from tests.support.chat_requests import chat

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)
HELLO = [{"role": "user", "content": "Hello!"}]


def load(client: EngineClient, path: Path, **options: object) -> object:
    return client.load(LoadOptions(path, n_threads=1, **options)).result(timeout=60)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("writer", "reason"),
    [
        ("not-gguf", "GGUF signature"),
        ("truncated", "interrupted"),
        ("unsupported-architecture", "not supported"),
        ("missing-tensor", "lacks required tensors"),
    ],
)
def test_bad_files_are_rejected_with_a_reason_and_the_host_survives(
    fresh_engine: EngineClient, tmp_path: Path, writer: str, reason: str
) -> None:
    path = gguf_factory.HOSTILE_WRITERS[writer](tmp_path / f"{writer}.gguf")
    with pytest.raises(EngineError) as caught:
        load(fresh_engine, path)
    assert caught.value.code == ErrorCode.INVALID_MODEL
    assert reason.lower() in str(caught.value).lower()
    pid = fresh_engine.host_pid
    assert pid is not None
    assert fresh_engine.status().result(timeout=30)["model"] is None
    assert fresh_engine.host_pid == pid


def test_missing_file_is_a_clear_error(fresh_engine: EngineClient, tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="no model file"):
        load(fresh_engine, tmp_path / "nowhere.gguf")


def test_model_that_aborts_llama_cpp_kills_only_the_host(
    fresh_engine: EngineClient, tmp_path: Path, tiny_model_path: Path
) -> None:
    bad = gguf_factory.write_duplicate_token(tmp_path / "dup.gguf")
    with pytest.raises(EngineHostDied) as caught:
        load(fresh_engine, bad)
    message = str(caught.value)
    assert "SIGABRT" in message
    assert "GGML_ASSERT" in message  # llama.cpp's own last words are in the error
    assert any("GGML_ASSERT" in line for line in caught.value.log_tail)
    assert fresh_engine.host_pid is None
    info = fresh_engine.load(LoadOptions(tiny_model_path, n_threads=1)).result(timeout=60)
    assert info.architecture == "llama"  # a new host started and works
    stream = fresh_engine.generate(
        chat(HELLO, system_prompt="", sampling=SamplingSettings(seed=1, max_tokens=5))
    )
    assert stream.wait(timeout=60).generated_tokens <= 5


def test_killed_host_fails_the_reply_keeps_its_text_and_restarts(
    fresh_engine: EngineClient, tiny_model_path: Path
) -> None:
    load(fresh_engine, tiny_model_path)
    first_pid = fresh_engine.host_pid
    assert first_pid is not None
    sampling = SamplingSettings(seed=1, max_tokens=None, ignore_eos=True)
    stream = fresh_engine.generate(chat(HELLO, system_prompt="", sampling=sampling))
    got_text = threading.Event()
    stream.on_event(lambda e: got_text.set() if isinstance(e, TextDelta) else None)
    assert got_text.wait(30)
    os.kill(first_pid, signal.SIGKILL)
    with pytest.raises(EngineHostDied, match="SIGKILL") as caught:
        stream.wait(timeout=30)
    headline, *quoted = str(caught.value).splitlines()
    assert headline == "The engine host was killed by SIGKILL."  # what the API's error says
    assert quoted[0] == "Last log lines:"  # the host's log lines are quoted below it
    assert any("llama" in line for line in caught.value.log_tail)
    assert stream.text  # what arrived before the kill is kept
    # The next call starts a new host, which reloads the model by itself.
    again = fresh_engine.generate(
        chat(HELLO, system_prompt="", sampling=SamplingSettings(seed=1, max_tokens=5))
    )
    assert again.wait(timeout=60).generated_tokens <= 5
    assert fresh_engine.host_pid not in (None, first_pid)


def test_pending_calls_fail_when_the_host_dies(
    fresh_engine: EngineClient, tiny_model_path: Path
) -> None:
    load(fresh_engine, tiny_model_path)
    pid = fresh_engine.host_pid
    assert pid is not None
    stream = fresh_engine.generate(
        chat(HELLO, system_prompt="", sampling=SamplingSettings(max_tokens=None, ignore_eos=True))
    )
    render = fresh_engine.render(chat(HELLO, system_prompt=""))  # queued behind the reply
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(EngineHostDied):
        stream.wait(timeout=30)
    with pytest.raises(EngineHostDied):
        render.result(timeout=30)


def test_cancel_during_prompt_processing(
    fresh_engine: EngineClient, medium_model_path: Path
) -> None:
    load(fresh_engine, medium_model_path, n_ctx=2048, n_batch=2048)
    long_prompt = [{"role": "user", "content": "the sea and the stars " * 380}]
    stream = fresh_engine.generate(
        chat(long_prompt, system_prompt="", sampling=SamplingSettings(max_tokens=8))
    )
    deadline = time.monotonic() + 30
    while stream.fitted is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert stream.fitted is not None
    assert stream.fitted.prompt_tokens > 1800  # one llama_decode call of 1-2 s on one thread
    time.sleep(0.05)  # the host is now inside that call
    cancelled_at = time.perf_counter()
    stream.cancel()
    stats = stream.wait(timeout=60)
    waited = time.perf_counter() - cancelled_at
    assert stats.finish_reason == "cancelled"
    assert stats.generated_tokens == 0
    assert waited < 0.3, f"cancel took {waited:.2f} s"
    # The interrupted prompt left the cache consistent: the next reply works.
    ok = fresh_engine.generate(
        chat(HELLO, system_prompt="", sampling=SamplingSettings(seed=2, max_tokens=4))
    )
    assert ok.wait(timeout=60).generated_tokens <= 4


def test_unload_gives_the_memory_back(fresh_engine: EngineClient, medium_model_path: Path) -> None:
    load(fresh_engine, medium_model_path, n_ctx=2048)
    fresh_engine.generate(
        chat(HELLO, system_prompt="", sampling=SamplingSettings(max_tokens=4))
    ).wait(timeout=60)
    loaded = fresh_engine.status().result(timeout=30)["rss_bytes"]
    fresh_engine.unload().result(timeout=30)
    unloaded = fresh_engine.status().result(timeout=30)
    assert unloaded["model"] is None
    model_bytes = medium_model_path.stat().st_size
    assert loaded - unloaded["rss_bytes"] > model_bytes * 0.8
    stream = fresh_engine.generate(
        chat(HELLO, system_prompt="", sampling=SamplingSettings(max_tokens=4))
    )
    with pytest.raises(EngineError) as caught:
        stream.wait(timeout=30)
    assert caught.value.code == ErrorCode.NO_MODEL


def test_absurd_trained_context_is_not_allocated(
    fresh_engine: EngineClient, tmp_path: Path
) -> None:
    path = gguf_factory.HOSTILE_WRITERS["absurd-context"](tmp_path / "absurd.gguf")
    info = fresh_engine.load(LoadOptions(path, n_threads=1)).result(timeout=60)
    assert info.trained_context > 10**8
    assert info.n_ctx <= 8192


def test_context_larger_than_memory_is_refused(
    fresh_engine: EngineClient, tiny_model_path: Path
) -> None:
    with pytest.raises(EngineError, match="GiB") as caught:
        load(fresh_engine, tiny_model_path, n_ctx=2**31 - 1)
    assert caught.value.code == ErrorCode.OUT_OF_MEMORY


def test_frozen_app_starts_the_host_through_its_hidden_command(
    monkeypatch: pytest.MonkeyPatch, tiny_model_path: Path
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert client_module.host_command() == [sys.executable, "__engine-host"]
    monkeypatch.delattr(sys, "frozen")
    # The hidden command really serves the protocol (run the way the bundle would).
    client = EngineClient(command=[sys.executable, "-m", "chatdesk", "__engine-host"])
    try:
        info = client.load(LoadOptions(tiny_model_path, n_threads=1)).result(timeout=60)
        assert info.n_layers == 2
    finally:
        client.close()


def test_closed_client_fails_new_calls(tiny_model_path: Path) -> None:
    client = EngineClient()
    client.close()
    with pytest.raises(EngineError, match="closed"):
        client.load(LoadOptions(tiny_model_path)).result(timeout=5)


def test_loading_a_model_cancels_the_running_reply(
    fresh_engine: EngineClient, tiny_model_path: Path
) -> None:
    load(fresh_engine, tiny_model_path)
    stream = fresh_engine.generate(
        chat(HELLO, system_prompt="", sampling=SamplingSettings(max_tokens=None, ignore_eos=True))
    )
    got_text = threading.Event()
    stream.on_event(lambda e: got_text.set() if isinstance(e, TextDelta) else None)
    assert got_text.wait(30)
    info = fresh_engine.load(LoadOptions(tiny_model_path, n_threads=1)).result(timeout=60)
    assert stream.wait(timeout=5).finish_reason == "cancelled"
    assert info.n_layers == 2


def test_host_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    client = EngineClient(command=[str(tmp_path / "no-such-python")])
    try:
        with pytest.raises(EngineError, match="could not start the engine host"):
            client.load(LoadOptions(tmp_path / "m.gguf")).result(timeout=5)
        stream = client.generate(chat(HELLO, system_prompt=""))
        with pytest.raises(EngineError, match="could not start"):
            stream.wait(timeout=5)
    finally:
        client.close()
