"""Remote engines against a hostile server on 127.0.0.1 (issue 21).

A real HTTP server (Starlette on uvicorn) lists one model and answers chat requests in
the way chosen per test: an HTML page with status 200, a whole JSON completion to a
streamed request, or a stream that sends one piece of text and then only keep-alive
comments, forever.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chatdesk.api.server import ApiServer
from chatdesk.engine.types import EngineError, LoadOptions, ReplyDone, TextDelta
from chatdesk.remote.connection import ServerAddress
from chatdesk.remote.engine import RemoteEngine
from tests.support.openai_servers import serve_in_thread

QUESTION = [{"role": "user", "content": "Capital of France?"}]
WHOLE = {
    "id": "x",
    "object": "chat.completion",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
}


class Hostile:
    mode = "html"


async def models(request: Request) -> Response:
    del request
    return JSONResponse({"object": "list", "data": [{"id": "m", "object": "model"}]})


async def chat(request: Request) -> Response:
    await request.body()
    if Hostile.mode == "html":
        return HTMLResponse("<html><body><h1>Router login</h1></body></html>")
    if Hostile.mode == "json":
        return JSONResponse(WHOLE)
    return StreamingResponse(keep_alive_forever(), media_type="text/event-stream")


async def keep_alive_forever() -> AsyncIterator[bytes]:
    chunk = {"choices": [{"index": 0, "delta": {"content": "Par"}, "finish_reason": None}]}
    yield f"data: {json.dumps(chunk)}\n\n".encode()
    while True:
        await asyncio.sleep(0.2)
        yield b": keep-alive\n\n"


async def not_found(request: Request) -> Response:
    del request
    return JSONResponse({"error": {"message": "not found"}}, 404)


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    routes = [
        Route("/v1/models", models),
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/{path:path}", not_found, methods=["GET", "POST"]),
    ]
    running = serve_in_thread(Starlette(routes=routes))
    yield running
    running.stop()


def engine_for(server: ApiServer, read_timeout: float = 30.0) -> RemoteEngine:
    address = ServerAddress(f"http://127.0.0.1:{server.port}/v1", read_timeout=read_timeout)
    engine = RemoteEngine(address, name="hostile")
    engine.load(LoadOptions("m")).result(timeout=30)
    return engine


def test_an_html_page_is_not_an_openai_server(server: ApiServer) -> None:
    Hostile.mode = "html"
    engine = engine_for(server)
    try:
        with pytest.raises(EngineError, match="is not an OpenAI-compatible server"):
            engine.generate(QUESTION).wait(timeout=30)
    finally:
        engine.close()


def test_a_whole_json_answer_to_a_streamed_request_is_kept(server: ApiServer) -> None:
    Hostile.mode = "json"
    engine = engine_for(server)
    try:
        events = list(engine.generate(QUESTION))
    finally:
        engine.close()
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Paris."
    done = events[-1]
    assert isinstance(done, ReplyDone)
    assert done.stats.finish_reason == "stop"
    assert done.stats.generated_tokens == 2


def test_keep_alive_comments_do_not_keep_a_stalled_stream_open(server: ApiServer) -> None:
    Hostile.mode = "keepalive"
    engine = engine_for(server, read_timeout=3.0)
    started = time.monotonic()
    try:
        reply = engine.generate(QUESTION)
        with pytest.raises(EngineError, match="stalled: no new text for 3 s") as caught:
            reply.wait(timeout=60)
    finally:
        engine.close()
    assert time.monotonic() - started < 30  # was: open as long as the server liked (152 s)
    assert caught.value.code == "timeout"
