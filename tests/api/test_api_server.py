"""ChatDesk's API with the official openai client: the real engine host and starter model."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import httpx
import openai
import pytest

from chatdesk.api.app import ApiConfig
from chatdesk.api.exchange import ApiExchange
from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.server import ApiServer
from tests.api.conftest import MODEL_ID, start_api
from tests.support.recording_engine import RecordingEngine

pytestmark = pytest.mark.slow

QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
STORY = [{"role": "user", "content": "Write a long story about a dragon."}]
GREEDY = {"temperature": 0, "top_p": 1.0, "max_tokens": 12}


def client(server: ApiServer, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=key, max_retries=0, timeout=120)


def test_models_lists_the_loaded_model(api_server: ApiServer) -> None:
    assert [m.id for m in client(api_server).models.list()] == [MODEL_ID]


def test_chat_completion_answers_paris_with_usage(api_server: ApiServer) -> None:
    answer = client(api_server).chat.completions.create(model=MODEL_ID, messages=QUESTION, **GREEDY)  # type: ignore[call-overload]
    assert "Paris" in (answer.choices[0].message.content or "")
    assert answer.choices[0].finish_reason in ("stop", "length")
    assert answer.usage is not None
    assert answer.usage.prompt_tokens > 5
    assert 0 < answer.usage.completion_tokens <= 12


def test_a_conversation_the_client_comes_back_to_is_not_read_again(api_server: ApiServer) -> None:
    """A client of the API sends the whole conversation each time and names none (a web
    front end with two chats open). Coming back to a conversation after another's turn
    reads only its new message: the usage says how much of the prompt was cached. Before,
    every return read the whole history again (cached: the template's first tokens)."""
    api = client(api_server)
    notes = {
        name: [{"role": "user", "content": f"Notes on the {name}: " + f"the {name} is old. " * 80}]
        for name in ("harbour", "orchard")
    }
    first = {}
    for name, messages in notes.items():  # each chat's first turn, one after the other
        answer = api.chat.completions.create(model=MODEL_ID, messages=messages, **GREEDY)  # type: ignore[call-overload]
        messages.append({"role": "assistant", "content": answer.choices[0].message.content})
        first[name] = answer.usage
    for name, messages in notes.items():  # back to each, after the other's turn
        messages.append({"role": "user", "content": "Summarise that."})
        answer = api.chat.completions.create(model=MODEL_ID, messages=messages, **GREEDY)  # type: ignore[call-overload]
        usage = answer.usage
        assert usage is not None
        assert usage.prompt_tokens_details is not None
        assert first[name].prompt_tokens > 300
        cached = usage.prompt_tokens_details.cached_tokens or 0
        assert cached >= first[name].prompt_tokens  # the history and reply are not read again
        assert usage.prompt_tokens - cached < 40  # only the new message (and its template)


def test_streaming_gives_the_same_text_and_usage_last(api_server: ApiServer) -> None:
    api = client(api_server)
    whole = api.chat.completions.create(model=MODEL_ID, messages=QUESTION, **GREEDY)  # type: ignore[call-overload]
    chunks = list(
        api.chat.completions.create(
            model=MODEL_ID,
            messages=QUESTION,
            stream=True,
            stream_options={"include_usage": True},
            **GREEDY,
        )  # type: ignore[call-overload]
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")


def test_max_tokens_stop_and_seed(api_server: ApiServer) -> None:
    api = client(api_server)
    capped = api.chat.completions.create(model=MODEL_ID, messages=STORY, max_tokens=5, seed=1)
    assert capped.choices[0].finish_reason == "length"
    assert capped.usage is not None
    assert capped.usage.completion_tokens == 5
    plain = api.chat.completions.create(model=MODEL_ID, messages=QUESTION, **GREEDY)  # type: ignore[call-overload]
    word = (plain.choices[0].message.content or "").split()[1]
    stopped = api.chat.completions.create(model=MODEL_ID, messages=QUESTION, stop=[word], **GREEDY)  # type: ignore[call-overload]
    assert word not in (stopped.choices[0].message.content or "")
    runs = [
        api.chat.completions.create(
            model=MODEL_ID, messages=STORY, temperature=1.0, seed=42, max_tokens=15
        )
        .choices[0]
        .message.content
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_text_completion(api_server: ApiServer) -> None:
    api = client(api_server)
    answer = api.completions.create(
        model=MODEL_ID, prompt="The capital of France is", temperature=0, max_tokens=4
    )
    assert "Paris" in answer.choices[0].text
    streamed = api.completions.create(
        model=MODEL_ID, prompt="The capital of France is", temperature=0, max_tokens=4, stream=True
    )
    assert "".join(c.choices[0].text for c in streamed if c.choices) == answer.choices[0].text


def test_cancel_mid_stream_stops_generation(
    api_server: ApiServer, api_engine: RecordingEngine
) -> None:
    api = client(api_server)
    before = len(api_engine.replies)
    stream = api.chat.completions.create(
        model=MODEL_ID,
        messages=STORY,
        max_tokens=2000,
        stream=True,
        extra_body={"ignore_eos": True},
    )
    for received, _chunk in enumerate(stream, 1):
        if received == 5:
            break
    stream.close()
    closed_at = time.monotonic()
    reply = api_engine.replies[before]
    stats = reply.wait(timeout=10)
    assert stats.finish_reason == "cancelled"
    assert time.monotonic() - closed_at < 2.0
    assert stats.generated_tokens < 200  # stopped long before the 2000 asked for


def test_concurrent_clients_all_complete(api_server: ApiServer) -> None:
    results: dict[int, str] = {}

    def ask(index: int) -> None:
        api = client(api_server)
        chunks = api.chat.completions.create(
            model=MODEL_ID, messages=QUESTION, stream=True, user=f"u{index}", **GREEDY
        )  # type: ignore[call-overload]
        results[index] = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(set(results.values())) == 1
    assert sorted(results) == [0, 1, 2, 3]
    assert "Paris" in results[0]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b'{"model": "smollm2", "messages": [{"role": "user", "content": "x"}], '
         b'"temperature": "hot"}', 400, "temperature"),
        (b'{"model": "smollm2"}', 400, "messages"),
        (b'{"model": "smollm2", "messages": []}', 400, "messages"),
        (b'{"model": "smollm2", "messages": [{"role": "tool", "content": "x"}]}', 400,
         "tool_call_id"),  # a tool result must say which call it answers
        (b'{"model": "smollm2", "messages": [{"role": "user", "content": "x"}], '
         b'"max_tokens": 100000}', 400, "at most 4096"),
        (b'{"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}', 404, "gpt-9"),
        (b'[1, 2]', 400, ""),
    ],
)  # fmt: skip
def test_bad_requests_get_openai_style_errors(
    api_server: ApiServer, body: bytes, status: int, words: str
) -> None:
    answer = httpx.post(
        api_server.url + "/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == status
    error = answer.json()["error"]
    assert words in error["message"]
    assert {"message", "type", "param", "code"} <= set(error)


def test_openai_client_raises_its_error_classes(api_server: ApiServer) -> None:
    api = client(api_server)
    with pytest.raises(openai.NotFoundError, match="gpt-9"):
        api.chat.completions.create(model="gpt-9", messages=QUESTION)
    with pytest.raises(openai.BadRequestError, match="top_p"):
        api.chat.completions.create(model=MODEL_ID, messages=QUESTION, top_p=7)


def test_unknown_route_and_wrong_method(api_server: ApiServer) -> None:
    missing = httpx.get(api_server.url + "/nothing")
    assert missing.status_code == 404
    assert "error" in missing.json()
    wrong = httpx.get(api_server.url + "/chat/completions")
    assert wrong.status_code == 405


def test_body_over_the_limit_is_413(scheduler: FairScheduler) -> None:
    server = start_api(scheduler, ApiConfig(model_id=MODEL_ID, max_body_bytes=1000))
    try:
        big = {"model": MODEL_ID, "messages": [{"role": "user", "content": "x" * 5000}]}
        answer = httpx.post(server.url + "/chat/completions", json=big)
        assert answer.status_code == 413
        assert "over 1000 bytes" in answer.json()["error"]["message"]
    finally:
        server.stop()


def test_api_key_is_required_when_set(scheduler: FairScheduler) -> None:
    server = start_api(scheduler, ApiConfig(api_key="s3cret", model_id=MODEL_ID))
    try:
        with pytest.raises(openai.AuthenticationError):
            client(server, "wrong").models.list()
        assert [m.id for m in client(server, "s3cret").models.list()] == [MODEL_ID]
    finally:
        server.stop()


def test_cors_only_for_listed_origins(api_server: ApiServer, scheduler: FairScheduler) -> None:
    origin = {"Origin": "http://evil.example"}
    assert (
        "access-control-allow-origin"
        not in httpx.get(api_server.url + "/models", headers=origin).headers
    )
    server = start_api(
        scheduler, ApiConfig(model_id=MODEL_ID, cors_origins=("http://app.example",))
    )
    try:
        allowed = httpx.get(server.url + "/models", headers={"Origin": "http://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "http://app.example"
        other = httpx.get(server.url + "/models", headers=origin)
        assert "access-control-allow-origin" not in other.headers
    finally:
        server.stop()


def test_text_completion_too_long_for_the_context_is_400(api_server: ApiServer) -> None:
    with pytest.raises(openai.BadRequestError, match=r"only .* fit"):
        client(api_server).completions.create(model=MODEL_ID, prompt="word " * 3000, max_tokens=10)


def test_more_than_one_choice_is_refused(api_server: ApiServer) -> None:
    with pytest.raises(openai.BadRequestError, match="n"):
        client(api_server).chat.completions.create(model=MODEL_ID, messages=QUESTION, n=2)


def test_a_client_leaving_while_queued_never_reaches_the_engine(
    api_server: ApiServer, api_engine: RecordingEngine
) -> None:
    api = client(api_server)
    busy = api.chat.completions.create(
        model=MODEL_ID, messages=STORY, max_tokens=300, stream=True, user="busy",
        extra_body={"ignore_eos": True},
    )  # fmt: skip
    next(iter(busy))  # the engine is now generating this one
    started = len(api_engine.replies)
    with pytest.raises(openai.APITimeoutError):
        openai.OpenAI(
            base_url=api_server.url, api_key="x", max_retries=0, timeout=0.5
        ).chat.completions.create(model=MODEL_ID, messages=QUESTION, user="impatient")
    for _chunk in busy:  # let the running reply finish
        pass
    time.sleep(0.5)
    assert len(api_engine.replies) == started  # the queued request was dropped, not run


def test_finished_exchanges_reach_the_hook_only_when_set(
    api_server: ApiServer, scheduler: FairScheduler
) -> None:
    kept: list[ApiExchange] = []
    server = start_api(scheduler, ApiConfig(model_id=MODEL_ID, on_exchange=kept.append))
    try:
        answer = client(server).chat.completions.create(
            model=MODEL_ID,
            messages=[{"role": "system", "content": "Be brief."}, *QUESTION],
            user="ann",
            **GREEDY,
        )  # type: ignore[call-overload]
        deadline = time.monotonic() + 5
        while not kept and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(kept) == 1
        exchange = kept[0]
        assert exchange.reply == answer.choices[0].message.content
        assert exchange.system_prompt == "Be brief."
        assert exchange.messages == QUESTION
        assert exchange.client == "user:ann"
        assert exchange.stats.generated_tokens == answer.usage.completion_tokens  # type: ignore[union-attr]
    finally:
        server.stop()


def test_chat_completion_returns_openai_logprobs(api_server: ApiServer) -> None:
    api = client(api_server)
    plain = {"extra_body": {"repeat_penalty": 1.0}}  # greedy on the model's own distribution
    answer = api.chat.completions.create(
        model=MODEL_ID, messages=QUESTION, logprobs=True, top_logprobs=3, **GREEDY, **plain
    )  # type: ignore[call-overload]
    logprobs = answer.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.content
    assert answer.usage is not None
    assert len(logprobs.content) == answer.usage.completion_tokens
    assert "".join(t.token for t in logprobs.content) == answer.choices[0].message.content
    for token in logprobs.content:
        top = token.top_logprobs
        assert len(top) == 3
        assert top[0].token == token.token  # temperature 0: the chosen token is the likeliest
        assert [t.logprob for t in top] == sorted((t.logprob for t in top), reverse=True)
        assert sum(math.exp(t.logprob) for t in top) <= 1 + 1e-6
    streamed = api.chat.completions.create(
        model=MODEL_ID,
        messages=QUESTION,
        logprobs=True,
        top_logprobs=3,
        stream=True,
        **GREEDY,
        **plain,
    )  # type: ignore[call-overload]
    tokens = [t for c in streamed if c.choices and c.choices[0].logprobs
              for t in c.choices[0].logprobs.content or []]  # fmt: skip
    assert [t.token for t in tokens] == [t.token for t in logprobs.content]


def test_no_logprobs_unless_asked(api_server: ApiServer) -> None:
    answer = client(api_server).chat.completions.create(model=MODEL_ID, messages=QUESTION, **GREEDY)  # type: ignore[call-overload]
    assert answer.choices[0].logprobs is None


def logprobs_of(api: openai.OpenAI, stream: bool, **asked: Any) -> tuple[str, list[Any]]:
    """The reply's text and its logprobs tokens, streamed or not (greedy, 40 tokens)."""
    answer = api.chat.completions.create(
        model=MODEL_ID, max_tokens=40, temperature=0, logprobs=True, stream=stream, **asked
    )  # type: ignore[call-overload]
    if not stream:
        return answer.choices[0].message.content or "", list(answer.choices[0].logprobs.content)
    chunks = [c.choices[0] for c in answer if c.choices]
    text = "".join(c.delta.content or "" for c in chunks)
    return text, [t for c in chunks if c.logprobs for t in c.logprobs.content or []]


@pytest.mark.parametrize("stream", [False, True])
def test_logprobs_leave_out_the_stop_string(api_server: ApiServer, stream: bool) -> None:
    """QA: the reply "L'Étoile, la Marseillaise..." with stop "Marseillaise" came back as
    "L'Étoile, la " with logprobs for "L'Étoile, la Marseillaise". A stop string that
    begins with a token leaves exactly the text's tokens; one that begins inside " Mar"
    leaves that token out too (as llama-server does)."""
    api, france = (
        client(api_server),
        [{"role": "user", "content": "What is the capital of France?"}],
    )
    text, tokens = logprobs_of(api, stream, messages=france, stop=[" Marseillaise"])
    assert text.endswith(", la")
    assert "".join(t.token for t in tokens) == text
    text, tokens = logprobs_of(api, stream, messages=france, stop=["Marseillaise"])
    assert text.endswith(", la ")
    assert "".join(t.token for t in tokens) == text.removesuffix(" ")


@pytest.mark.parametrize("stream", [False, True])
def test_logprob_bytes_join_to_the_text(api_server: ApiServer, stream: bool) -> None:
    """QA: emoji are several byte-fallback tokens each on the starter model; every one came
    back as token "\ufffd" with the bytes of "\ufffd", so the text could not be rebuilt."""
    emoji = [{"role": "user", "content": "Reply with emoji only: 🐉🔥🇯🇵"}]
    text, tokens = logprobs_of(client(api_server), stream, messages=emoji, top_logprobs=2)
    assert "🐉" in text
    assert b"".join(bytes(t.bytes or []) for t in tokens).decode("utf-8") == text
    assert tokens[0].bytes != list("\ufffd".encode())
