"""A remote engine added with ``--api-key-env`` talking to ChatDesk's own keyed API server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from chatdesk.api.app import ApiConfig
from chatdesk.api.scheduler import FairScheduler
from chatdesk.engine.types import EngineError, LoadOptions, SamplingSettings
from chatdesk.remote.engine import RemoteEngine
from chatdesk.remote.registry import RemoteEngineRegistry
from chatdesk.store import Store
from tests.api.conftest import MODEL_ID, start_api
from tests.support.chat_requests import chat

pytestmark = pytest.mark.slow


QUESTION = "What is the capital of France? Answer in one word."
QUESTION_MESSAGES = [{"role": "user", "content": QUESTION}]


def test_key_from_the_environment_reaches_the_server(
    scheduler: FairScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_api(scheduler, ApiConfig(api_key="k-123", model_id=MODEL_ID))
    try:
        with Store() as store:
            registry = RemoteEngineRegistry(store)
            registry.add("mine", server.url, api_key_env="CHATDESK_KEY")
            monkeypatch.setenv("CHATDESK_KEY", "wrong")
            engine = registry.open("mine")
            with pytest.raises(EngineError, match="refused the API key"):
                engine.models().result(timeout=30)
            engine.close()
            monkeypatch.setenv("CHATDESK_KEY", "k-123")
            engine = registry.open("mine")
        try:
            engine.load(LoadOptions(MODEL_ID)).result(timeout=30)
            reply = engine.generate(
                chat(
                    [
                        {
                            "role": "user",
                            "content": "What is the capital of France? Answer in one word.",
                        }
                    ],
                    system_prompt="",
                    sampling=SamplingSettings(temperature=0, max_tokens=12),
                )
            )
            reply.wait(timeout=120)
            assert "Paris" in reply.text
            assert reply.report.dialect == "chatdesk"  # ChatDesk's owned_by
        finally:
            engine.close()
    finally:
        server.stop()


@contextlib.contextmanager
def own_api_as_remote(scheduler: FairScheduler) -> Iterator[RemoteEngine]:
    """ChatDesk's API server, added and loaded as a remote engine (no key)."""
    server = start_api(scheduler, ApiConfig(model_id=MODEL_ID))
    try:
        with Store() as store:
            registry = RemoteEngineRegistry(store)
            registry.add("own", server.url)
            engine = registry.open("own")
        try:
            engine.load(LoadOptions(MODEL_ID)).result(timeout=30)
            yield engine
        finally:
            engine.close()
    finally:
        server.stop()


def test_chatdesk_s_own_server_as_a_remote_engine_takes_every_setting_and_tells_its_context(
    scheduler: FairScheduler,
) -> None:
    """Added as a remote engine, ChatDesk's API is known as ChatDesk's: the settings it takes
    (top_k, min_p, repeat_penalty) are sent, and the context fit uses its real context."""
    sampling = SamplingSettings(temperature=0.7, top_k=20, min_p=0.1, repeat_penalty=1.1,
                                max_tokens=4, seed=1)  # fmt: skip
    with own_api_as_remote(scheduler) as engine:
        assert engine.model_info is not None
        assert engine.model_info.n_ctx == 2048  # the served model's context (conftest)
        reply = engine.generate(chat(QUESTION_MESSAGES, system_prompt="", sampling=sampling))
        reply.wait(timeout=120)
    assert reply.report.dialect == "chatdesk"
    assert reply.report.not_sent == ()
    assert reply.report.sent.items() >= {"top_k": 20, "min_p": 0.1, "repeat_penalty": 1.1}.items()


def test_a_remote_engine_reports_what_the_server_had_cached(scheduler: FairScheduler) -> None:
    """ChatDesk's API (like vLLM's and llama-server's) says in its usage how much of the
    prompt it had cached; a remote engine's reply stats carry it, so a return to a
    conversation shows that only the new message was read."""
    sampling = SamplingSettings(temperature=0, max_tokens=4)
    talks = {n: [{"role": "user", "content": f"About the {n}: " + f"the {n} is red. " * 60}]
             for n in ("barn", "kite")}  # fmt: skip
    stats = []
    with own_api_as_remote(scheduler) as engine:
        for _ in range(2):  # each conversation's turn, then back to each
            for messages in talks.values():
                reply = engine.generate(chat(messages, system_prompt="", sampling=sampling))
                stats.append(reply.wait(timeout=120))
                messages += [{"role": "assistant", "content": reply.text},
                             {"role": "user", "content": "Go on."}]  # fmt: skip
    assert all(s.evaluated_prompt_tokens > 200 for s in stats[:2])  # read whole at first
    assert all(s.evaluated_prompt_tokens < 40 < s.prompt_tokens for s in stats[2:])  # cached


def test_a_server_without_a_tokenizer_teaches_the_estimate_its_model_s_density(
    scheduler: FairScheduler,
) -> None:
    """ChatDesk's API, like Ollama's and LM Studio's, has no tokenizer endpoint, so a remote
    engine estimates tokens (Show prompt, the context fit, the documents' budget). The
    starter model's small English vocabulary takes Russian at 1.3 characters a token, 1.8
    times the estimate: after one reply, the server's usage scales the estimate, and the
    next request's count is close to the server's (before, it stayed where it was)."""
    russian = "Смотритель маяка каждое утро шёл вдоль берега и считал лодки. " * 6  # noqa: RUF001
    sampling = SamplingSettings(temperature=0, max_tokens=4)
    messages = [{"role": "user", "content": russian}]
    with own_api_as_remote(scheduler) as engine:
        guessed = engine.render(chat(messages, sampling=sampling)).result(timeout=30)
        reply = engine.generate(chat(messages, sampling=sampling))
        first = reply.wait(timeout=120)
        messages += [{"role": "assistant", "content": reply.text},
                     {"role": "user", "content": russian}]  # fmt: skip
        estimated = engine.render(chat(messages, sampling=sampling)).result(timeout=30)
        second = engine.generate(chat(messages, sampling=sampling)).wait(timeout=120)
    assert not estimated.exact  # an estimate, and labelled one
    assert first.prompt_tokens > 1.5 * guessed.tokens  # too few for this vocabulary
    tokens = estimated.tokens
    assert abs(tokens - second.prompt_tokens) <= 0.15 * second.prompt_tokens, (tokens, second)
