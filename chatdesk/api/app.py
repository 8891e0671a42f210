"""The OpenAI-compatible API as a FastAPI app over a ``FairScheduler``.

FastAPI (on Starlette, served by uvicorn) because it is the well-kept ASGI stack the
OpenAI-compatible servers people already run are built on (vLLM, llama-cpp-python's own
server): pydantic validation of request bodies, streaming responses, CORS middleware and
per-route dependencies come with it, and uvicorn handles HTTP/1.1 keep-alive, chunked
bodies and client disconnects correctly, which a hand-written server would not.

Routes: ``GET /v1/models``, ``POST /v1/chat/completions`` and ``POST /v1/completions``,
streaming (server-sent events ending in ``data: [DONE]``) or not. A request waits in the
scheduler's queue for its turn; while it waits and while it streams, a watcher reads the
connection, and a client that goes away has its reply cancelled at once, so the engine
stops within a token. Errors before the first byte are HTTP errors with OpenAI-style
bodies (``chatdesk.api.errors``); a failure mid-stream is an ``{"error": ...}`` event.
With ``ApiConfig.on_exchange`` set, each chat request is also reported once its reply ends
(``chatdesk.api.exchange``), to be saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatdesk.api import errors
from chatdesk.api.defaults import DEFAULT_MAX_BODY, DEFAULT_MAX_TOKENS_LIMIT
from chatdesk.api.errors import ApiError
from chatdesk.api.exchange import ExchangeHook, exchange_for, report_exchange
from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.schemas import ChatCompletionRequest, CompletionRequest, SamplingFields
from chatdesk.api.tool_calls import ReplyReader, openai_call, reply_reader, whole_message
from chatdesk.engine.constrain import SchemaRefused, format_constraint
from chatdesk.engine.interface import ReplyHandle
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.request import Message as ChatMessage
from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    ModelInfo,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    ReplyStats,
    SamplingSettings,
    TextDelta,
    TokenChoice,
    TokenProbabilities,
)
from chatdesk.probabilities.formats import LegacyLogprobs, openai_logprobs

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
FINISH = {"stop": "stop", "length": "length", "cancelled": "stop"}


@dataclass(frozen=True)
class ApiConfig:
    """How the API behaves (limits, key, CORS)."""

    api_key: str | None = None  # required as "Authorization: Bearer KEY" when set
    cors_origins: tuple[str, ...] = ()  # no CORS headers at all unless origins are listed
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_tokens_limit: int = DEFAULT_MAX_TOKENS_LIMIT
    model_id: str | None = None  # the id clients use; default: the GGUF file's name
    warm_after_reply: bool = True  # warm each chat's next turn as its reply ends
    on_exchange: ExchangeHook | None = field(default=None, compare=False)  # e.g. save it


def on_reply(handle: ReplyHandle, done: Callable[[str, ReplyStats], None]) -> None:
    """Call ``done`` with the reply's text and stats once ``handle`` ends with a reply
    (any thread)."""
    parts: list[str] = []

    def collect(event: ReplyEvent) -> None:
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, ReplyDone) and parts:
            done("".join(parts), event.stats)

    handle.on_event(collect)


def warm_next_turn(handle: ReplyHandle, scheduler: FairScheduler, chat: ChatRequest) -> None:
    """Once ``handle`` ends with a whole reply, warm the chat as its next request will start
    (``chat``, then the reply), as the window does after its replies: where that turn must
    leave older messages out, the engine reads the kept part again while the client's user
    reads the reply, not after the next request. Not after tool calls (the client sends them
    back in its own form) or a stopped reply."""

    def warm(text: str, stats: ReplyStats) -> None:
        if stats.finish_reason in ("stop", "length"):
            reply = ChatMessage.of("assistant", text)
            scheduler.warm(replace(chat, messages=(*chat.messages, reply)))

    if not chat.tools:
        on_reply(handle, warm)


class BodyLimit:
    """ASGI middleware: 413 for a request body over the limit (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, f"request body over {self.limit} bytes")
            return message

        await self.app(scope, limited, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = errors.error_response(413, f"request body over {self.limit} bytes")
        await response(scope, receive, send)


def client_key(request: Request, body: SamplingFields) -> str:
    """Who a request is from, for fair queueing: ``user``, else the remote address."""
    if body.user:
        return f"user:{body.user}"
    return f"host:{request.client.host if request.client else 'unknown'}"


async def watch_disconnect(request: Request, handle: ReplyHandle) -> None:
    """Cancel ``handle`` as soon as the client goes away."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            handle.cancel()
            return


async def relay(request: Request, handle: ReplyHandle) -> AsyncGenerator[ReplyEvent]:
    """The reply's events on the event loop; the reply is cancelled if iteration stops early."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[ReplyEvent] = asyncio.Queue()

    def forward(event: ReplyEvent) -> None:
        loop.call_soon_threadsafe(events.put_nowait, event)

    handle.on_event(forward)
    watcher = asyncio.create_task(watch_disconnect(request, handle))
    try:
        while True:
            event = await events.get()
            yield event
            if isinstance(event, ReplyDone | ReplyFailed):
                return
    finally:
        watcher.cancel()
        if not handle.done:
            handle.cancel()


def sse(data: dict[str, Any]) -> bytes:
    """One server-sent event."""
    return (
        b"data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    )


def usage(stats: ReplyStats | None) -> dict[str, Any]:
    """OpenAI ``usage`` from reply stats; ``cached_tokens``: the prompt's tokens the engine
    had in its cache and did not read again."""
    prompt = stats.prompt_tokens if stats else 0
    completion = stats.generated_tokens if stats else 0
    cached = max(0, prompt - stats.evaluated_prompt_tokens) if stats else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


class Shape:
    """How one kind of completion looks on the wire (chat or text); ``top``: alternatives
    per token of the token probabilities asked for (None: none asked for), in OpenAI's
    chat form or the legacy completions form (counted from ``offset``, the prompt's length)."""

    def __init__(self, chat: bool, model: str, top: int | None = None, offset: int = 0) -> None:
        self.chat = chat
        self.model = model
        self.id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
        self.created = int(time.time())
        self.top = top
        self._legacy = LegacyLogprobs(top, offset) if top is not None and not chat else None

    def logprobs(self, tokens: Sequence[TokenChoice]) -> dict[str, Any] | None:
        """The ``logprobs`` object for the next ``tokens`` of the reply (None: not asked)."""
        if self._legacy is not None:
            return self._legacy.of(tokens)
        return openai_logprobs(tokens, self.top) if self.top is not None else None

    def _envelope(self, choices: list[dict[str, Any]], chunk: bool) -> dict[str, Any]:
        kind = "chat.completion" if self.chat else "text_completion"
        obj = kind + ".chunk" if chunk and self.chat else kind
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def piece(
        self,
        text: str | None,
        finish: str | None = None,
        first: bool = False,
        logprobs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A streamed chunk with ``text`` (None: none) and maybe the finish reason or the
        probabilities of the tokens generated since the last such chunk."""
        if self.chat:
            delta: dict[str, Any] = {"role": "assistant"} if first else {}
            if text is not None:
                delta["content"] = text
            choice = {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": text or "", "logprobs": logprobs, "finish_reason": finish}
        return self._envelope([choice], chunk=True)

    def usage_chunk(self, stats: ReplyStats | None) -> dict[str, Any]:
        """The last chunk when ``include_usage`` was asked for."""
        return {**self._envelope([], chunk=True), "usage": usage(stats)}

    def whole(
        self,
        text: str,
        finish: str,
        stats: ReplyStats | None,
        logprobs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A non-streamed answer."""
        if self.chat:
            choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}}
        else:
            choice = {"index": 0, "text": text}
        choice.update(logprobs=logprobs, finish_reason=finish)
        return {**self._envelope([choice], chunk=False), "usage": usage(stats)}


def finish_reason(stats: ReplyStats | None) -> str:
    """OpenAI's finish reason for an engine's."""
    return FINISH.get(stats.finish_reason if stats else "stop", "stop")


async def first_event(events: AsyncGenerator[ReplyEvent]) -> ReplyEvent:
    """The first event (ContextFitted, text, or the failure that ends the reply early)."""
    return await events.__anext__()


async def streamed(
    shape: Shape,
    events: AsyncGenerator[ReplyEvent],
    first: ReplyEvent,
    include_usage: bool,
    *,
    reader: ReplyReader | None = None,
) -> AsyncIterator[bytes]:
    """The server-sent events of a streamed answer (with ``reader``: text outside calls as
    content deltas, each call as a ``tool_calls`` delta once it is complete)."""
    yield sse(shape.piece("" if shape.chat else None, first=True))
    tools = ToolDeltas(shape, reader) if reader is not None else None
    pending: list[ReplyEvent] = [first]
    async with contextlib.aclosing(events):
        while True:
            event = pending.pop() if pending else await anext(events, None)
            if event is None:
                return
            if isinstance(event, TextDelta):
                for chunk in tools.text(event.text) if tools else [sse(shape.piece(event.text))]:
                    yield chunk
            elif isinstance(event, TokenProbabilities) and shape.top is not None:
                yield sse(shape.piece(None, logprobs=shape.logprobs(event.tokens)))
            elif isinstance(event, ReplyDone):
                finish = finish_reason(event.stats)
                for chunk in tools.end() if tools else []:
                    yield chunk
                yield sse(shape.piece(None, "tool_calls" if tools and tools.index else finish))
                if include_usage:
                    yield sse(shape.usage_chunk(event.stats))
                yield b"data: [DONE]\n\n"
                return
            elif isinstance(event, ReplyFailed):
                yield sse(
                    errors.error_body(
                        500, event.error.message.splitlines()[0], code=event.error.code
                    )
                )
                return


class ToolDeltas:
    """A streamed reply read for tool calls: its content and ``tool_calls`` chunks."""

    def __init__(self, shape: Shape, reader: ReplyReader) -> None:
        self.shape, self.reader = shape, reader
        self.seen = 0  # calls of the reader already looked at
        self.index = 0  # calls sent (the next one's index)

    def text(self, text: str) -> list[bytes]:
        """Chunks for a piece of the reply."""
        shown = self.reader.stream.feed(text)
        return ([sse(self.shape.piece(shown))] if shown else []) + self._calls()

    def end(self) -> list[bytes]:
        """Chunks for what the reply's end settles (held text, the last calls)."""
        tail = self.reader.stream.finish().tail
        return ([sse(self.shape.piece(tail))] if tail else []) + self._calls()

    def _calls(self) -> list[bytes]:
        chunks = []
        for call in self.reader.sendable()[self.index :]:
            chunk = self.shape.piece(None)
            chunk["choices"][0]["delta"] = {"tool_calls": [openai_call(call, self.index)]}
            chunks.append(sse(chunk))
            self.index += 1
        return chunks


@dataclass
class Collected:
    """A whole reply: its text, stats and token probabilities (when asked for)."""

    text: str = ""
    stats: ReplyStats | None = None
    tokens: list[TokenChoice] = field(default_factory=list)


async def collected(events: AsyncGenerator[ReplyEvent], first: ReplyEvent) -> Collected:
    """The whole reply (a failure raised as an API error)."""
    parts: list[str] = []
    reply = Collected()
    event: ReplyEvent | None = first
    async with contextlib.aclosing(events):
        while event is not None:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, TokenProbabilities):
                reply.tokens.extend(event.tokens)
            elif isinstance(event, ReplyDone):
                reply.stats = event.stats
                break
            elif isinstance(event, ReplyFailed):
                raise errors.engine_api_error(event.error)
            event = await anext(events, None)
    reply.text = "".join(parts)
    return reply


class Api:
    """The routes' shared state: scheduler, configuration, the model's id."""

    def __init__(self, scheduler: FairScheduler, config: ApiConfig) -> None:
        self.scheduler = scheduler
        self.config = config

    def model_id(self) -> str | None:
        """The id clients must name (None: no model loaded)."""
        info = self.scheduler.engine.model_info
        if info is None:
            return None
        return self.config.model_id or default_model_id(info)

    def chat_request(self, body: ChatCompletionRequest, sampling: SamplingSettings) -> ChatRequest:
        """The body as the engine's request (400 for a body it cannot be)."""
        try:
            chat = body.chat_request(sampling)
        except EngineError as error:
            raise errors.engine_api_error(error) from None
        except ValueError as error:
            raise ApiError(400, str(error), "messages") from None
        try:  # a schema that cannot be enforced exactly: refused before the queue
            format_constraint(chat.response_format)
        except SchemaRefused as refused:
            raise ApiError(400, str(refused), "response_format", "invalid_json_schema") from None
        return chat

    def check(self, body: SamplingFields) -> tuple[str, SamplingSettings]:
        """The model id (404 if it is not ours), no field this server does not take (400),
        and the engine settings (400 on limits)."""
        refused = body.unsupported_fields()
        if refused:
            raise ApiError(
                400,
                f"not supported by this server: {', '.join(refused)}",
                refused[0],
                "unsupported_parameter",
            )
        served = self.model_id()
        if served is None:
            raise ApiError(503, "no model is loaded", code="no_model")
        if body.model != served:
            raise ApiError(
                404,
                f"model {body.model!r} does not exist (this server has {served!r})",
                "model",
                "model_not_found",
            )
        wanted = body.wanted_max_tokens()
        limit = self.config.max_tokens_limit
        if wanted is not None and wanted > limit:
            raise ApiError(
                400, f"max_tokens: at most {limit} on this server, not {wanted}", "max_tokens"
            )
        return served, body.sampling(wanted or limit)

    async def answer(
        self,
        request: Request,
        body: SamplingFields,
        shape: Shape,
        handle: ReplyHandle,
        reader: ReplyReader | None = None,
    ) -> Any:
        """Stream or collect ``handle`` into the response (``reader``: tools were offered,
        the reply's calls become ``tool_calls``)."""
        events = relay(request, handle)
        first = await first_event(events)
        while isinstance(first, ContextFitted):
            first = await first_event(events)
        if isinstance(first, ReplyFailed):
            await events.aclose()
            raise errors.engine_api_error(first.error)
        if body.stream:
            return StreamingResponse(
                streamed(shape, events, first, body.include_usage(), reader=reader),
                media_type="text/event-stream",
                headers=SSE_HEADERS,
            )
        reply = await collected(events, first)
        logprobs = shape.logprobs(reply.tokens)
        answer = shape.whole(reply.text, finish_reason(reply.stats), reply.stats, logprobs)
        if reader is not None:
            message = whole_message(reader, reply.text)
            answer["choices"][0]["message"] = message
            if "tool_calls" in message:
                answer["choices"][0]["finish_reason"] = "tool_calls"
        return JSONResponse(answer)


def default_model_id(info: ModelInfo) -> str:
    """The id clients use by default: a GGUF file's name without ``.gguf``, else the id."""
    name = Path(info.path).name
    return name.removesuffix(".gguf") if name.endswith(".gguf") else info.path


def create_app(scheduler: FairScheduler, config: ApiConfig | None = None) -> FastAPI:
    """The ASGI app serving ``scheduler``'s engine."""
    config = config or ApiConfig()
    api = Api(scheduler, config)
    app = FastAPI(title="ChatDesk API", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(RequestValidationError, errors.validation_handler)
    app.add_exception_handler(StarletteHTTPException, errors.http_error_handler)
    app.add_exception_handler(ApiError, errors.api_error_handler)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    add_routes(app, api, authorizer(config.api_key))
    return app


def authorizer(api_key: str | None) -> Callable[[Request], Awaitable[None]]:
    """A dependency that checks ``Authorization: Bearer KEY`` when a key is set."""

    async def authorize(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), api_key.encode()
        ):
            raise ApiError(
                401,
                "missing or wrong API key (send Authorization: Bearer KEY)",
                code="invalid_api_key",
            )

    return authorize


def add_routes(app: FastAPI, api: Api, authorize: Callable[[Request], Awaitable[None]]) -> None:
    """The three OpenAI routes."""
    guarded = [Depends(authorize)]

    @app.get("/v1/models", dependencies=guarded)
    async def models() -> dict[str, Any]:
        served, info = api.model_id(), api.scheduler.engine.model_info
        entry = {"id": served, "object": "model", "created": 0, "owned_by": "chatdesk"}
        if info is not None and info.n_ctx > 0:  # read by ChatDesk as a remote engine
            entry["context_length"] = info.n_ctx
        return {"object": "list", "data": [entry] if served else []}

    @app.post("/v1/chat/completions", dependencies=guarded)
    async def chat_completions(request: Request, body: ChatCompletionRequest) -> Any:
        served, sampling = api.check(body)
        chat = api.chat_request(body, sampling)
        client = client_key(request, body)
        handle = await asyncio.to_thread(  # starting a reply may block: never on the loop
            api.scheduler.generate, client, chat, label="chat"
        )
        info = api.scheduler.engine.model_info
        if api.config.on_exchange is not None:
            asked = exchange_for(client, served, chat)
            report_exchange(handle, api.config.on_exchange, asked, reply_reader(chat, info))
        if api.config.warm_after_reply:
            warm_next_turn(handle, api.scheduler, chat)
        reader = reply_reader(chat, info)
        shape = Shape(True, served, body.alternatives())
        return await api.answer(request, body, shape, handle, reader)

    @app.post("/v1/completions", dependencies=guarded)
    async def completions(request: Request, body: CompletionRequest) -> Any:
        served, sampling = api.check(body)
        engine = api.scheduler.engine
        complete = getattr(engine, "complete", None)
        if complete is None:
            raise ApiError(
                400, "this engine does not do raw text completions; use /v1/chat/completions"
            )
        client = client_key(request, body)
        prompt = body.prompt_text()
        handle = await asyncio.to_thread(
            api.scheduler.submit, client, lambda: complete(prompt, sampling), label="completion"
        )
        shape = Shape(False, served, body.alternatives(), offset=len(prompt))
        return await api.answer(request, body, shape, handle)

    del models, chat_completions, completions  # registered on the app
