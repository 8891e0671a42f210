"""RemoteEngine against a real llama-cpp-python server, directly and through a fault proxy."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatdesk.engine.interface import ReplyHandle
from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    LoadOptions,
    ReplyDone,
    ReplyFailed,
    SamplingSettings,
    TextDelta,
    TokenProbabilities,
)
from chatdesk.remote.connection import ServerAddress
from chatdesk.remote.engine import RemoteEngine, RemoteReplyStream
from tests.support.chat_requests import chat
from tests.support.openai_servers import (
    MODEL_ID,
    FaultProxy,
    LlamaCppServer,
    free_port,
    make_certificate,
)

pytestmark = pytest.mark.slow

QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
GREEDY = SamplingSettings(temperature=0, max_tokens=12, top_k=1, repeat_penalty=1.0)
SLOW_SERVER = 30.0  # read timeout: the shared test machine can be slow to a first token
STALL_TIMEOUT = 8.0  # read timeout where a stall is what is tested
LONG = [{"role": "user", "content": "Write a long story about a dragon and a knight."}]


def open_engine(url: str, **options: object) -> Iterator[RemoteEngine]:
    engine = RemoteEngine(ServerAddress(url, **options), name="test")  # type: ignore[arg-type]
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def engine(llama_server: LlamaCppServer) -> Iterator[RemoteEngine]:
    yield from open_engine(llama_server.url)


@pytest.fixture
def make_engine() -> Iterator[Callable[..., RemoteEngine]]:
    """Open remote engines (closed after the test)."""
    opened: list[RemoteEngine] = []

    def make(url: str, **options: float) -> RemoteEngine:
        opened.append(RemoteEngine(ServerAddress(url, **options), name="test"))
        return opened[-1]

    yield make
    for engine in opened:
        engine.close()


@pytest.fixture
def proxied(proxy: FaultProxy, make_engine: Callable[..., RemoteEngine]) -> RemoteEngine:
    return make_engine(proxy.url, read_timeout=SLOW_SERVER)


def loaded(engine: RemoteEngine) -> RemoteEngine:
    engine.load(LoadOptions(MODEL_ID)).result(timeout=30)
    return engine


def failure(reply: ReplyHandle) -> EngineError:
    with pytest.raises(EngineError) as caught:
        reply.wait(timeout=60)
    return caught.value


def test_remote_engine_answers_paris(engine: RemoteEngine) -> None:
    info = loaded(engine).model_info
    assert info is not None
    assert info.name == MODEL_ID
    assert info.backend == "remote (test)"
    reply = engine.generate(chat(QUESTION, system_prompt="Answer in one word.", sampling=GREEDY))
    assert isinstance(reply, ReplyHandle)
    stats = reply.wait(timeout=120)
    assert "Paris" in reply.text
    assert stats.finish_reason in ("stop", "length")
    assert stats.generated_tokens > 0
    assert stats.time_to_first_token is not None
    assert stats.time_to_first_token > 0
    assert reply.fitted is not None
    assert reply.fitted.prompt_tokens > 5
    assert reply.fitted.n_ctx == 0  # llama-cpp-python reports no context length: sent whole


def test_events_arrive_in_order_and_text_matches(engine: RemoteEngine) -> None:
    reply = loaded(engine).generate(chat(QUESTION, system_prompt="", sampling=GREEDY))
    events = list(reply)
    assert isinstance(events[0], ContextFitted)
    assert isinstance(events[-1], ReplyDone)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == reply.text


def test_sampling_report_says_what_was_sent(engine: RemoteEngine) -> None:
    reply = loaded(engine).generate(chat(QUESTION, system_prompt="", sampling=GREEDY))
    reply.wait(timeout=120)
    assert isinstance(reply, RemoteReplyStream)
    report = reply.report
    assert report.dialect == "llama-cpp-python"
    assert report.sent["temperature"] == 0
    assert report.sent["top_k"] == 1
    assert report.not_sent == ()
    assert "top_k=1" in report.describe()


def test_render_prompt_says_the_server_applies_its_template(engine: RemoteEngine) -> None:
    rendered = loaded(engine).render(chat(QUESTION, system_prompt="Be brief.")).result(timeout=30)
    text, tokens = rendered.text, rendered.tokens
    assert "server applies its own chat template" in text
    assert "server's tokenizer" in text  # llama-cpp-python has /extras/tokenize/count
    assert "capital of France" in text
    assert tokens > 5


def test_stop_closes_the_stream_and_keeps_the_text(engine: RemoteEngine) -> None:
    reply = loaded(engine).generate(
        chat(LONG, system_prompt="", sampling=SamplingSettings(max_tokens=400, seed=1))
    )
    for event in reply:
        if isinstance(event, TextDelta) and len(reply.text) > 10:
            reply.cancel()
            break
    stats = reply.wait(timeout=5)
    assert stats.finish_reason == "cancelled"
    assert len(reply.text) > 10
    again = engine.generate(
        chat(QUESTION, system_prompt="", sampling=GREEDY)
    )  # the server is free again at once
    assert again.wait(timeout=120).generated_tokens > 0


def test_load_of_an_unknown_model_names_the_served_ones(engine: RemoteEngine) -> None:
    with pytest.raises(EngineError, match=r"does not serve model 'gpt-9'.*starter") as caught:
        engine.load(LoadOptions("gpt-9")).result(timeout=30)
    assert caught.value.code == "model_not_found"


def test_generate_without_a_model_fails_clearly(engine: RemoteEngine) -> None:
    assert "no remote model" in failure(engine.generate(chat(QUESTION))).message


# -- failures -----------------------------------------------------------------------------


def test_connection_refused() -> None:
    for engine in open_engine(f"http://127.0.0.1:{free_port()}/v1"):
        with pytest.raises(EngineError, match="connection refused") as caught:
            engine.models().result(timeout=30)
        assert caught.value.code == "connection_refused"


def test_dns_failure() -> None:
    for engine in open_engine("http://no-such-host.invalid:8000/v1", connect_timeout=5.0):
        with pytest.raises(EngineError, match="cannot resolve") as caught:
            engine.models().result(timeout=30)
        assert caught.value.code == "dns_failure"


def test_tls_failure_and_a_custom_ca_bundle(llama_server: LlamaCppServer, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    tls = FaultProxy(llama_server.url, ssl_certfile=str(cert), ssl_keyfile=str(key))
    try:
        for engine in open_engine(tls.url):
            with pytest.raises(EngineError, match="TLS failure") as caught:
                engine.models().result(timeout=30)
            assert caught.value.code == "tls_failure"
        for engine in open_engine(tls.url, ca_bundle=str(cert)):
            assert [m.id for m in engine.models().result(timeout=30)] == [MODEL_ID]
    finally:
        tls.server.stop()


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (401, "unauthorized", "refused the API key"),
        (403, "forbidden", "denied access"),
        (500, "server_error", "server failed (500"),
        (502, "server_error", "server failed (502"),
    ],
)
def test_http_errors_are_clear(
    proxied: RemoteEngine, proxy: FaultProxy, status: int, code: str, words: str
) -> None:
    loaded(proxied)
    proxy.set(kind="status", status=status)
    error = failure(proxied.generate(chat(QUESTION, system_prompt="", sampling=GREEDY)))
    assert error.code == code
    assert words in error.message
    assert "injected failure" in error.message


def test_404_model_gone(proxied: RemoteEngine, proxy: FaultProxy) -> None:
    loaded(proxied)
    proxy.set(kind="status", status=404, body='{"error": {"message": "model starter not found"}}')
    error = failure(proxied.generate(chat(QUESTION, system_prompt="", sampling=GREEDY)))
    assert error.code == "model_not_found"
    assert "'starter'" in error.message


def test_429_honours_retry_after_then_succeeds(proxied: RemoteEngine, proxy: FaultProxy) -> None:
    loaded(proxied)
    fault = proxy.set(kind="status", status=429, retry_after="1", times=2)
    started = time.monotonic()
    reply = proxied.generate(chat(QUESTION, system_prompt="Answer in one word.", sampling=GREEDY))
    reply.wait(timeout=120)
    assert time.monotonic() - started >= 2.0  # waited Retry-After twice
    assert fault.seen.count("/v1/chat/completions") == 3
    assert "Paris" in reply.text


def test_429_retry_is_bounded(proxied: RemoteEngine, proxy: FaultProxy) -> None:
    loaded(proxied)
    fault = proxy.set(kind="status", status=429, retry_after="0")
    error = failure(proxied.generate(chat(QUESTION, system_prompt="", sampling=GREEDY)))
    assert error.code == "rate_limited"
    assert "gave up after 4 attempts" in error.message
    assert fault.seen.count("/v1/chat/completions") == 4


def test_429_with_a_long_retry_after_is_not_waited_for(
    proxied: RemoteEngine, proxy: FaultProxy
) -> None:
    loaded(proxied)
    proxy.set(kind="status", status=429, retry_after="3600")
    started = time.monotonic()
    error = failure(proxied.generate(chat(QUESTION, system_prompt="", sampling=GREEDY)))
    assert "asks to wait 3600 s" in error.message
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("kind", "code", "words"),
    [
        ("drop", "stream_cut", "closed the connection mid-reply"),
        ("malformed", "malformed_event", "{not json"),
        ("stall_mid", "timeout", "stopped answering"),
    ],
)
def test_a_stream_failing_mid_reply_keeps_the_partial_text(
    proxy: FaultProxy, make_engine: Callable[..., RemoteEngine], kind: str, code: str, words: str
) -> None:
    proxy.set(kind=kind, after_events=4)
    timeout = STALL_TIMEOUT if kind == "stall_mid" else SLOW_SERVER
    engine = make_engine(proxy.url, read_timeout=timeout)
    reply = loaded(engine).generate(
        chat(LONG, system_prompt="", sampling=SamplingSettings(max_tokens=60, seed=3))
    )
    error = failure(reply)
    assert error.code == code
    assert words in error.message
    assert len(reply.text) >= 3  # the text before the failure is kept


def test_server_that_never_answers_times_out(
    proxy: FaultProxy, make_engine: Callable[..., RemoteEngine]
) -> None:
    engine = loaded(make_engine(proxy.url, read_timeout=2.0))
    proxy.set(kind="stall")
    started = time.monotonic()
    error = failure(engine.generate(chat(QUESTION, system_prompt="", sampling=GREEDY)))
    assert error.code == "timeout"
    assert "stopped answering" in error.message
    assert time.monotonic() - started < 30


def test_failed_reply_stats_are_delivered(proxied: RemoteEngine, proxy: FaultProxy) -> None:
    loaded(proxied)
    proxy.set(kind="drop", after_events=2)
    events = list(
        proxied.generate(
            chat(LONG, system_prompt="", sampling=SamplingSettings(max_tokens=60, seed=3))
        )
    )
    last = events[-1]
    assert isinstance(last, ReplyFailed)
    assert last.stats is not None
    assert last.stats.finish_reason == "error"


def test_token_probabilities_come_through_from_the_server(engine: RemoteEngine) -> None:
    asked = dataclasses.replace(GREEDY, logprobs=3)
    reply = loaded(engine).generate(
        chat(QUESTION, system_prompt="Answer in one word.", sampling=asked)
    )
    events = list(reply)
    assert reply.report.sent["top_logprobs"] == 3
    tokens = [t for e in events if isinstance(e, TokenProbabilities) for t in e.tokens]
    assert tokens, "the server was asked for logprobs and sent some"
    assert "".join(t.text for t in tokens) == reply.text
    for token in tokens:
        assert 0 < token.probability <= 1
        assert 1 <= len(token.top) <= 3
        assert token.top[0].text == token.text  # greedy: the chosen token is the likeliest
        assert sum(a.probability for a in token.top) <= 1 + 1e-6
