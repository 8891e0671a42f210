"""A scripted stand-in for EngineClient, for GUI behaviour that must not depend on a model.

It speaks the real client's interface and event types (``chatdesk.engine.types``) and streams
a fixed text at a chosen rate from its own thread, like the real reader thread does. The GUI
benchmark uses it to stream exactly N tokens at a set speed; tests that check what the user
sees with a real model use the real EngineClient and the generated GGUF models instead.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from chatdesk.engine.request import ChatRequest, EngineCapabilities, RenderedPrompt
from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    EngineHostDied,
    LoadOptions,
    ModelInfo,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    ReplyStats,
    TextDelta,
)

SCRIPTED_CAPABILITIES = EngineCapabilities(
    tools="native",
    tool_choice=("auto", "none", "required", "named"),
    logprobs=True,
    continuation=True,
    render="exact",
    example_pinning=True,
)
SAMPLE_REPLY = (
    "Here is a small example.\n\n```python\ndef greet(name: str) -> str:\n"
    '    return f"Hello, {name}!"\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n'
    "That is all. "
)


def model_info(path: str, n_ctx: int = 2048) -> ModelInfo:
    """A plausible ModelInfo for a scripted load."""
    return ModelInfo(
        path=path, name=Path(path).stem, architecture="llama", parameter_count=1_000_000,
        quantization="F16", file_size=1, trained_context=n_ctx, n_ctx=n_ctx, n_layers=2,
        chat_template_present=True, template_name="chatml", backend="CPU",
        gpu_layers_offloaded=0, n_threads=1, n_batch=512, flash_attn=False, load_seconds=0.01,
    )  # fmt: skip


class ScriptedStream:
    """A reply that streams ``tokens`` pieces of text at ``rate`` per second."""

    def __init__(
        self,
        tokens: list[str],
        rate: float,
        n_ctx: int,
        dropped: int = 0,
        failure: EngineError | None = None,
    ) -> None:
        self._failure = failure
        self._tokens = tokens
        self._rate = rate
        self._n_ctx = n_ctx
        self._dropped = dropped
        self._callbacks: list[Callable[[ReplyEvent], None]] = []
        self._events: list[ReplyEvent] = []
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._die = threading.Event()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def on_event(self, callback: Callable[[ReplyEvent], None]) -> None:
        """Register a callback (earlier events are replayed, as in the real client)."""
        with self._lock:
            for event in self._events:
                callback(event)
            self._callbacks.append(callback)
        if not self._thread.is_alive() and not self.done.is_set():
            self._thread.start()

    def cancel(self) -> None:
        """Stop after the current token."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> ReplyStats:
        """Block until the reply ends (ReplyHandle.wait): its stats, or its error raised."""
        if not self.done.wait(timeout):
            raise TimeoutError("the scripted reply did not end in time")
        last = self._events[-1]
        if isinstance(last, ReplyFailed):
            raise last.error
        assert isinstance(last, ReplyDone)
        return last.stats

    def kill_host(self) -> None:
        """Simulate the host process dying mid-reply."""
        self._die.set()

    def _emit(self, event: ReplyEvent) -> None:
        with self._lock:
            self._events.append(event)
            for callback in self._callbacks:
                callback(event)

    def _run(self) -> None:
        started = time.perf_counter()
        if self._failure is not None:
            self._emit(ReplyFailed(self._failure))
            self.done.set()
            return
        self._emit(ContextFitted(kept=1, dropped_count=self._dropped, prompt_tokens=20,
                                 n_ctx=self._n_ctx))  # fmt: skip
        reason = "length"
        sent = 0
        for index, token in enumerate(self._tokens):
            if self._die.is_set():
                self._emit(ReplyFailed(EngineHostDied("engine host was killed (signal 9)")))
                self.done.set()
                return
            if self._cancel.is_set():
                reason = "cancelled"
                break
            due = started + index / self._rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self._emit(TextDelta(token))
            sent += 1
        elapsed = max(time.perf_counter() - started, 1e-6)
        stats = ReplyStats(reason, prompt_tokens=20, generated_tokens=sent,  # type: ignore[arg-type]
                           time_to_first_token=0.01, decode_tokens_per_second=sent / elapsed,
                           dropped_messages=self._dropped, n_ctx=self._n_ctx)  # fmt: skip
        self._emit(ReplyDone(stats))
        self.done.set()


class ScriptedEngine:
    """EngineClient's interface; loads anything ending in .gguf that exists."""

    def __init__(self, text: str = SAMPLE_REPLY, tokens: int = 40, rate: float = 400.0) -> None:
        self.text = text
        self.tokens = tokens
        self.rate = rate
        self.dropped = 0
        self.failure: EngineError | None = None
        self.streams: list[ScriptedStream] = []
        self.requests: list[dict[str, Any]] = []
        self.closed = False
        self.replies: list[str] = []  # whole replies for the next generate calls, in order
        self.model_info: ModelInfo | None = None
        self.loaded_with: list[LoadOptions] = []  # every load's options, in order

    def token_list(self) -> list[str]:
        """The reply split into ``tokens`` pieces (the text repeated as needed)."""
        pieces = re.findall(r"\s*\S+\s?", self.text) or [self.text]
        return [pieces[i % len(pieces)] for i in range(self.tokens)]

    def load(self, options: LoadOptions) -> Future[ModelInfo]:
        """Succeed for an existing .gguf file, fail with a reason otherwise."""
        future: Future[ModelInfo] = Future()
        self.loaded_with.append(options)
        path = Path(options.path)
        if not path.is_file():
            future.set_exception(EngineError(f"no such file: {path}", "invalid_model"))
        elif path.read_bytes()[:4] != b"GGUF":
            future.set_exception(EngineError(f"{path.name} is not a GGUF file", "invalid_model"))
        else:
            self.model_info = model_info(str(path), options.n_ctx or 2048)
            future.set_result(self.model_info)
        return future

    @property
    def capabilities(self) -> EngineCapabilities:
        """A stand-in takes every request (it only streams its script)."""
        return SCRIPTED_CAPABILITIES

    def generate(self, request: ChatRequest) -> ScriptedStream:
        """Start streaming the next of ``replies`` (in 3-character pieces), else the text.
        ``requests`` records each request (and its parts under their old names)."""
        self.requests.append(
            {
                "request": request,
                "messages": request.template_messages(),
                "system_prompt": request.system_prompt,
                "sampling": request.sampling,
                "conversation_key": request.conversation_key,
                "tools": request.openai_tools(),
            }
        )
        tokens = self.token_list()
        if self.replies:
            reply = self.replies.pop(0)
            tokens = [reply[i : i + 3] for i in range(0, len(reply), 3)]
        stream = ScriptedStream(tokens, self.rate, 2048, self.dropped, self.failure)
        self.streams.append(stream)
        return stream

    def render(self, request: ChatRequest) -> Future[RenderedPrompt]:
        """A ChatML rendering, as a template would give (tools listed in the system part)."""
        tools = request.openai_tools() or []
        listed = "".join(f"\n<tool>{t['function']['name']}</tool>" for t in tools)
        system = request.system_prompt + listed
        parts = [f"<|im_start|>system\n{system}<|im_end|>\n"] if system else []
        parts += [f"<|im_start|>{m.role}\n{m.text}<|im_end|>\n" for m in request.messages]
        text = "".join(parts) + "<|im_start|>assistant\n"
        future: Future[RenderedPrompt] = Future()
        future.set_result(RenderedPrompt(text, len(text.split())))
        return future

    def count_tokens(self, texts: Sequence[str]) -> Future[list[int]]:
        """Words, as ``render`` counts tokens."""
        future: Future[list[int]] = Future()
        future.set_result([len(text.split()) for text in texts])
        return future

    def unload(self) -> Future[None]:
        """Nothing to free."""
        future: Future[None] = Future()
        future.set_result(None)
        return future

    def start(self) -> None:
        """Nothing to start."""

    def status(self) -> Future[dict[str, Any]]:
        """What a status call reports (the loaded model)."""
        future: Future[dict[str, Any]] = Future()
        info = self.model_info
        future.set_result({"model": info.to_dict() if info else None, "scripted": True})
        return future

    def close(self, timeout: float = 5.0) -> None:
        """Stop every stream."""
        self.closed = True
        for stream in self.streams:
            stream.cancel()
