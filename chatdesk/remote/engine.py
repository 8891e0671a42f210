"""``RemoteEngine``: the ``Engine`` protocol over an OpenAI-compatible HTTP server.

"Loading" a model checks that the server lists that id (``GET /v1/models``) and learns
what it can about it (context length, tokenizer endpoint, dialect; see ``server_info``).
Each reply runs on its own thread: the conversation is fitted into the server's context
(when the server reports one; otherwise it is sent whole and the server decides, which
``ContextFitted.n_ctx == 0`` says), then ``POST /v1/chat/completions`` with
``stream: true`` and, where the server takes it, ``stream_options.include_usage``. Each
server-sent event becomes a ``TextDelta``; time to first token and tokens per second are
measured here, on the client, and token counts come from the server's ``usage`` when it
sends one (else one token per content event, which is what llama.cpp and vLLM send).

Stop closes the stream: ``cancel`` ends the reply at once (``finish_reason='cancelled'``,
the text so far kept) and the reply thread closes the HTTP response on the next event,
which is how OpenAI-compatible servers learn to stop generating. Every failure ends the
reply with ``ReplyFailed`` carrying a clear message (``chatdesk.remote.errors``); the text
streamed before it stays in the handle, so callers keep it as an interrupted reply.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from chatdesk.engine.capabilities import EngineCapabilities, RenderedPrompt, refuse_unsupported
from chatdesk.engine.client import ReplyStream
from chatdesk.engine.context_fit import ContextOverflowError, fit_conversation, reply_budget
from chatdesk.engine.request import ChatRequest, Message
from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    ErrorCode,
    FinishReason,
    LoadOptions,
    ModelInfo,
    ReplyDone,
    ReplyFailed,
    ReplyStats,
    SamplingSettings,
    TextDelta,
    TokenChoice,
    TokenProbabilities,
)
from chatdesk.probabilities.formats import ProbabilityFormatError, choices_from_openai
from chatdesk.remote import answers, server_info
from chatdesk.remote.connection import Connection, ServerAddress
from chatdesk.remote.errors import RemoteErrorCode
from chatdesk.remote.request_body import chat_messages, request_fields
from chatdesk.remote.sampling import SamplingReport, map_sampling
from chatdesk.remote.server_info import RemoteModel, ServerFacts

log = logging.getLogger(__name__)
REMOTE_CAPABILITIES = EngineCapabilities(  # everything goes to the server, which decides
    tools="native",
    tool_choice=("auto", "none", "required", "named"),
    single_tool_call=True,
    response_format="passed_through",
    logprobs=True,
    continuation=False,  # the API starts a new assistant turn after the last message
    render="estimate",
    example_pinning=True,
)
TEMPLATE_NOTE = (
    "The server applies its own chat template: ChatDesk sends the system prompt and the "
    "messages below as chat messages (JSON), not this text."
)


def in_band_calls(calls: dict[int, dict[str, str]]) -> str:
    """Streamed structured tool calls as ``<tool_call>`` text, the form ChatDesk's tool loop
    reads from every engine (one parser for local and remote replies)."""
    parts = []
    for index in sorted(calls):
        call = calls[index]
        try:
            arguments: Any = json.loads(call.get("arguments") or "{}")
        except ValueError:
            arguments = call.get("arguments", "")
        payload = {"name": call.get("name", ""), "arguments": arguments}
        parts.append(f"<tool_call>{json.dumps(payload, ensure_ascii=False)}</tool_call>")
    return "".join(parts)


def estimate_text(system_prompt: str, messages: Sequence[dict[str, Any]]) -> str:
    """Text whose token count stands for the request's (ChatML-style markers per message;
    ``messages`` as context fitting takes them)."""
    head = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return "".join(
        f"<|im_start|>{m['role']}\n{m.get('content') or ''}<|im_end|>\n"
        for m in head + list(messages)
    )


def counted_system(request: ChatRequest) -> str:
    """The system part whose tokens a request's count includes: the system prompt and the
    tool definitions (the server's template writes them there too)."""
    tools = request.openai_tools() if request.tool_choice.mode != "none" else None
    listed = json.dumps(tools, ensure_ascii=False) if tools else ""
    return "\n".join(part for part in (request.system_prompt, listed) if part)


def sse_payloads(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined; comments skipped)."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)


def parse_chunk(payload: str) -> dict[str, Any]:
    """One streamed chunk, checked; a malformed one is an error that quotes it."""
    try:
        chunk = json.loads(payload)
    except ValueError:
        chunk = None
    if not isinstance(chunk, dict) or not isinstance(chunk.get("choices", []), list):
        raise EngineError(
            f"the server sent a malformed event: {payload[:120]!r}", RemoteErrorCode.MALFORMED
        )
    if "error" in chunk:
        said = server_info_message(chunk["error"])
        raise EngineError(f"the server failed mid-reply: {said}", RemoteErrorCode.SERVER_ERROR)
    return chunk


def server_info_message(error: Any) -> str:
    """The message of an in-stream error object."""
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return str(error)


@dataclass
class _Progress:
    """What a reply has received so far (guarded by the reply's lock)."""

    started: float
    fitted: ContextFitted | None = None
    first_at: float | None = None
    last_at: float | None = None
    events: int = 0
    usage: dict[str, Any] = field(default_factory=dict)
    finish: str | None = None
    done_marker: bool = False

    def stats(self, reason: FinishReason, seed: int | None) -> ReplyStats:
        """ReplyStats from the server's usage where given, else from what was counted."""
        prompt = _usage_int(
            self.usage, "prompt_tokens", self.fitted.prompt_tokens if self.fitted else 0
        )
        generated = _usage_int(self.usage, "completion_tokens", self.events)
        details = self.usage.get("prompt_tokens_details")  # vLLM, llama-server, ChatDesk
        cached = _usage_int(details, "cached_tokens", 0) if isinstance(details, dict) else 0
        ttft = self.first_at - self.started if self.first_at is not None else None
        decode = (self.last_at or 0.0) - (self.first_at or 0.0)
        return ReplyStats(
            finish_reason=reason,
            prompt_tokens=prompt,
            evaluated_prompt_tokens=min(prompt, max(0, prompt - cached)),
            generated_tokens=generated,
            time_to_first_token=ttft,
            prompt_seconds=ttft or 0.0,
            decode_seconds=decode,
            decode_tokens_per_second=(generated - 1) / decode
            if decode > 0 and generated > 1
            else 0.0,
            prompt_tokens_per_second=prompt / ttft if ttft else 0.0,
            dropped_messages=self.fitted.dropped_count if self.fitted else 0,
            kv_source="remote",
            seed=seed,
            n_ctx=self.fitted.n_ctx if self.fitted else 0,
        )


def _usage_int(usage: dict[str, Any], key: str, fallback: int) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


FINISH_REASONS: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


class RemoteReplyStream(ReplyStream):
    """A ``ReplyStream`` that also says which sampling settings were sent (``report``)."""

    def __init__(self, request_id: int, reply: RemoteReply) -> None:
        super().__init__(request_id, lambda _id: reply.cancel())
        self.report = reply.report


class RemoteReply:
    """One reply streaming from the server, on its own thread (see the module docstring)."""

    def __init__(self, engine: RemoteEngine, request: ChatRequest, report: SamplingReport) -> None:
        self.engine = engine
        self.request = request
        self.calls: dict[int, dict[str, str]] = {}  # structured tool calls being streamed
        self.token_ids: dict[str, int] = {}  # numbers for token texts (the API gives none)
        self.sampling = request.sampling
        self.report = report
        self.stream = RemoteReplyStream(next(engine.reply_ids), self)
        self.cancelled = threading.Event()
        self.progress = _Progress(time.perf_counter())
        self._lock = threading.Lock()

    def start(self) -> None:
        """Run the reply on a daemon thread."""
        threading.Thread(target=self.run, name="remote-reply", daemon=True).start()

    def cancel(self) -> None:
        """End the reply now (text kept); the thread closes the stream at its next event."""
        self.cancelled.set()
        with self._lock:
            stats = self.progress.stats("cancelled", self.sampling.seed)
        self.stream.deliver(ReplyDone(stats))

    def run(self) -> None:
        """Fit, request, stream; every outcome ends in ReplyDone or ReplyFailed."""
        try:
            kept = self._fit()
            self._stream(self._body(kept))
        except EngineError as error:
            self._fail(error)
        except Exception as error:  # a bug must still end the reply, never hang it
            self._fail(EngineError(f"unexpected failure: {error!r}", ErrorCode.INTERNAL))

    def _fail(self, error: EngineError) -> None:
        if self.cancelled.is_set():
            return
        with self._lock:
            stats = self.progress.stats("error", self.sampling.seed)
        self.stream.deliver(ReplyFailed(error, stats))

    def _fit(self) -> Sequence[Message]:
        kept, fitted = self.engine.fit(self.request)
        self.progress.fitted = fitted
        self.stream.deliver(fitted)
        return kept

    def _body(self, messages: Sequence[Message]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.engine.model_id,
            "messages": chat_messages(self.request.system_prompt, messages),
            "stream": True,
            **self.report.sent,
            **request_fields(self.request, self.engine.facts.dialect),
        }
        if self.engine.facts.usage_in_stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def _stream(self, body: dict[str, Any]) -> None:
        connection = self.engine.connection
        url = connection.url("/chat/completions")
        try:
            with connection.request("POST", url, body, body["model"], self.cancelled) as response:
                self._read_answer(response)
        except EngineError as error:
            if not self._retry_without_usage(error, body):
                raise
            return
        self._finish()

    def _retry_without_usage(self, error: EngineError, body: dict[str, Any]) -> bool:
        """A server that refuses ``stream_options`` is asked again without it (remembered)."""
        if "stream_options" not in body or "stream_options" not in error.message:
            return False
        self.engine.facts.usage_in_stream = False
        del body["stream_options"]
        self._stream(body)
        return True

    def _read_answer(self, response: httpx.Response) -> None:
        """Events; or a whole JSON answer read as one chunk; an HTML page refused."""
        connection = self.engine.connection
        if answers.is_whole_json(response):
            self._on_chunk(answers.whole_answer_chunk(response))
            self.progress.done_marker = True
            return
        answers.refuse_non_openai(response, connection.base_url)
        stall = connection.address.read_timeout
        self._read_events(answers.until_stalled(response.iter_lines(), stall))

    def _read_events(self, lines: Iterable[str]) -> None:
        for payload in sse_payloads(lines):
            if self.cancelled.is_set():
                return
            if payload.strip() == "[DONE]":
                self.progress.done_marker = True
                return
            self._on_chunk(parse_chunk(payload))

    def _on_chunk(self, chunk: dict[str, Any]) -> None:
        usage = chunk.get("usage")
        with self._lock:
            if isinstance(usage, dict):
                self.progress.usage = usage
            choices = chunk.get("choices") or []
            choice = choices[0] if choices and isinstance(choices[0], dict) else {}
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            text = delta.get("content") if isinstance(delta, dict) else None
            self._collect_calls(delta.get("tool_calls") if isinstance(delta, dict) else None)
            probabilities = self._probabilities(choice.get("logprobs"))
            if isinstance(choice.get("finish_reason"), str):
                self.progress.finish = choice["finish_reason"]
            if isinstance(text, str) and text:
                now = time.perf_counter()
                self.progress.first_at = self.progress.first_at or now
                self.progress.last_at = now
                self.progress.events += 1
        if isinstance(text, str) and text:
            self.stream.deliver(TextDelta(text))
        if probabilities:
            self.stream.deliver(TokenProbabilities(tuple(probabilities)))

    def _probabilities(self, data: Any) -> list[TokenChoice]:
        """The chunk's token probabilities, when asked for and readable (a server's answer
        is untrusted: an unreadable ``logprobs`` object is logged and left out)."""
        if not self.sampling.logprobs or not isinstance(data, dict):
            return []
        try:
            return choices_from_openai(data, self.token_ids)
        except ProbabilityFormatError as error:
            log.warning("remote logprobs left out: %s", error)
            return []

    def _collect_calls(self, deltas: Any) -> None:
        """Accumulate streamed ``tool_calls`` fragments (name and argument pieces by index)."""
        for fragment in deltas if isinstance(deltas, list) else []:
            if not isinstance(fragment, dict) or not isinstance(fragment.get("index", 0), int):
                continue
            call = self.calls.setdefault(fragment.get("index", 0), {})
            function = fragment.get("function")
            if isinstance(function, dict):
                if isinstance(function.get("name"), str):
                    call["name"] = call.get("name", "") + function["name"]
                if isinstance(function.get("arguments"), str):
                    call["arguments"] = call.get("arguments", "") + function["arguments"]

    def _finish(self) -> None:
        if self.cancelled.is_set():
            return
        if self.calls:
            self.stream.deliver(TextDelta(in_band_calls(self.calls)))
        progress = self.progress
        if not progress.done_marker and progress.finish is None:
            raise EngineError(
                "the stream stopped mid-reply (no end-of-reply marker); the text so far is kept",
                RemoteErrorCode.STREAM_CUT,
            )
        reason = FINISH_REASONS.get(progress.finish or "stop", "stop")
        with self._lock:
            stats = progress.stats(reason, self.sampling.seed)
        if progress.fitted is not None:
            self.engine.facts.learn_density(progress.fitted.prompt_tokens, stats.prompt_tokens)
        self.stream.deliver(ReplyDone(stats))


class RemoteEngine:
    """An OpenAI-compatible server as an ``Engine`` (one model id at a time)."""

    def __init__(self, address: ServerAddress, name: str = "remote") -> None:
        self.name = name
        self.connection = Connection(address)
        self.facts = ServerFacts()
        self.model_id: str | None = None
        self.model_info: ModelInfo | None = None
        self.reply_ids = itertools.count(1)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="remote-engine")

    # -- Engine protocol --------------------------------------------------------------

    def start(self) -> None:
        """Nothing to start: connections open on first use."""

    def models(self) -> Future[list[RemoteModel]]:
        """The server's models (``GET /v1/models``)."""
        return self._pool.submit(self._list_models)

    def load(self, options: LoadOptions) -> Future[ModelInfo]:
        """Use model id ``options.path`` once the server lists it (other options ignored)."""
        return self._pool.submit(self._load, str(options.path))

    def unload(self) -> Future[None]:
        """Forget the model (nothing is held on the server)."""
        self.model_id, self.model_info = None, None
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def status(self) -> Future[dict[str, Any]]:
        """The server, the model and what is known about it."""
        done: Future[dict[str, Any]] = Future()
        done.set_result(
            {
                "remote": True,
                "engine": self.name,
                "base_url": self.connection.base_url,
                "model": self.model_id,
                "dialect": self.facts.dialect,
                "n_ctx": self.model_info.n_ctx if self.model_info else 0,
                "tokenizer": "server" if self.facts.tokenize_path else "estimate",
            }
        )
        return done

    @property
    def capabilities(self) -> EngineCapabilities:
        """What a remote engine honours: everything is sent on, except a continuation."""
        return REMOTE_CAPABILITIES

    def render(self, request: ChatRequest) -> Future[RenderedPrompt]:
        """What is sent (the server applies its own template) and its token count."""
        return self._pool.submit(self._render, request)

    def generate(self, request: ChatRequest) -> RemoteReplyStream:
        """Start streaming a reply (``conversation_key`` is unused: the server caches);
        tools, tool choice and response format go to the server as the API spells them,
        and the tool calls it streams back come out as ``<tool_call>`` text for the tool
        loop. A request this engine cannot honour fails at once."""
        report = self.sampling_report(request.sampling)
        reply = RemoteReply(self, request, report)
        try:
            refuse_unsupported(request, self.capabilities, f"The remote engine {self.name!r}")
            if self.model_id is None:
                raise EngineError("no remote model chosen", ErrorCode.NO_MODEL)
        except EngineError as error:
            reply.stream.deliver(ReplyFailed(error))
        else:
            reply.start()
        return reply.stream

    def close(self, timeout: float = 5.0) -> None:
        """Close the connection pool."""
        del timeout
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.connection.close()

    # -- helpers ----------------------------------------------------------------------

    def sampling_report(self, sampling: SamplingSettings) -> SamplingReport:
        """Which settings a reply would send to this server and which it cannot."""
        return map_sampling(sampling, self.facts.dialect)

    def count_tokens(self, texts: Sequence[str]) -> Future[list[int]]:
        """The tokens each text takes, counted by the server where it can (llama-server's
        and vLLM's ``/tokenize``), else estimated as the context fit estimates them."""
        return self._pool.submit(lambda: [self.token_count(text)[0] for text in texts])

    def token_count(self, text: str) -> tuple[int, bool]:
        """Tokens in ``text`` and whether the server counted them (False: an estimate)."""
        counted = None
        if self.model_id is not None:
            counted = server_info.server_token_count(
                self.connection, self.facts, self.model_id, text
            )
        if counted is None:
            return self.facts.estimate(text), False
        return counted, True

    def fit(self, request: ChatRequest) -> tuple[Sequence[Message], ContextFitted]:
        """The examples and the newest messages that fit the server's context (all, if it
        reports none)."""
        n_ctx = self.model_info.n_ctx if self.model_info else 0
        system, messages = counted_system(request), request.template_messages()
        if not n_ctx:
            tokens, _exact = self.token_count(estimate_text(system, messages))
            shown = len(messages) - len(request.examples)
            return request.messages, ContextFitted(shown, 0, tokens, 0)
        try:
            fit = fit_conversation(
                system,
                messages,
                estimate_text,
                lambda text: self.token_count(text)[0],
                n_ctx,
                reply_budget(request.sampling.max_tokens, n_ctx),
                size=self.facts.estimate,
                reserved=request.reserved_tokens,
            )
        except ContextOverflowError as error:
            raise EngineError(str(error), ErrorCode.MESSAGE_TOO_LONG) from None
        pinned = len(request.examples)
        kept = request.messages[:pinned] + request.messages[pinned + fit.dropped_count :]
        return kept, ContextFitted(len(kept) - pinned, fit.dropped_count, fit.prompt_tokens, n_ctx)

    def _list_models(self) -> list[RemoteModel]:
        models = server_info.list_models(self.connection)
        self.facts.models = models
        self.facts.dialect = server_info.dialect_of(models)
        return models

    def _load(self, model_id: str) -> ModelInfo:
        started = time.perf_counter()
        models = {m.id: m for m in self._list_models()}
        if model_id not in models:
            listed = ", ".join(sorted(models)) or "none"
            raise EngineError(
                f"the server does not serve model {model_id!r} (it serves: {listed})",
                RemoteErrorCode.MODEL_NOT_FOUND,
            )
        n_ctx = models[model_id].context_length
        if n_ctx is None and self.facts.dialect in ("llama-server", "openai-compatible"):
            n_ctx = server_info.props_context_length(self.connection)
        self.model_id, self.facts.scale = model_id, 1.0
        self.model_info = remote_model_info(self.name, model_id, n_ctx or 0, started)
        return self.model_info

    def _render(self, request: ChatRequest) -> RenderedPrompt:
        refuse_unsupported(request, self.capabilities, f"The remote engine {self.name!r}")
        kept, _fitted = self.fit(request)  # what generate would send
        counted = estimate_text(counted_system(request), [m.to_template() for m in kept])
        tokens, exact = self.token_count(counted)
        how = (
            "Token count by the server's tokenizer (with ChatML-style markers per message)."
            if exact
            else "Token count estimated by kind of character (no tokenizer endpoint found)."
        )
        body = {
            "messages": chat_messages(request.system_prompt, kept),
            **request_fields(request, self.facts.dialect),
        }
        text = json.dumps(body, ensure_ascii=False, indent=2)
        return RenderedPrompt(f"{TEMPLATE_NOTE}\n{how}\n\n{text}\n", tokens, exact=False)


def remote_model_info(engine: str, model_id: str, n_ctx: int, started: float) -> ModelInfo:
    """``ModelInfo`` for a remote model: what is known, zeros for what is not."""
    return ModelInfo(
        path=model_id,
        name=model_id,
        architecture="remote",
        parameter_count=0,
        quantization="",
        file_size=0,
        trained_context=n_ctx,
        n_ctx=n_ctx,
        n_layers=0,
        chat_template_present=True,
        template_name="server",
        backend=f"remote ({engine})",
        gpu_layers_offloaded=0,
        n_threads=0,
        n_batch=0,
        flash_attn=False,
        load_seconds=time.perf_counter() - started,
    )
