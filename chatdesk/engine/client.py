"""The app's handle on the engine host: a child process that owns the model.

``EngineClient`` starts the host lazily (``python -m chatdesk.engine.host``, or the frozen
app's hidden ``__engine-host`` command), sends it requests over its stdin and reads answers
and reply events from its stdout on a reader thread, so no call ever blocks its caller:
requests return a ``concurrent.futures.Future`` or a ``ReplyStream``. If the host dies
(llama.cpp abort() on a malformed model, the OOM killer, kill -9) everything pending fails
with ``EngineHostDied`` carrying the host's last log lines, and the next call starts a new
host (reloading the last model that loaded fine, so a chat can simply continue).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import itertools
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from chatdesk.engine import protocol
from chatdesk.engine.capabilities import EngineCapabilities, RenderedPrompt, local_capabilities
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    EngineHostDied,
    ErrorCode,
    LoadOptions,
    ModelInfo,
    PromptProgress,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    ReplyStats,
    SamplingSettings,
    TextDelta,
    TokenChoice,
    TokenProbabilities,
)

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

HOST_SUBCOMMAND = "__engine-host"  # hidden command of the frozen ``chatdesk`` executable
REFERENCE_SUBCOMMAND = "__engine-reference"
LOG_TAIL_LINES = 50
LINES_IN_DEATH_MESSAGE = 12

FATAL_LOG = re.compile(r"GGML_ASSERT|GGML_ABORT|\berror\b|fatal|terminate called", re.IGNORECASE)

SOURCE_DIRS = re.compile(r"^\S*/(?=[^/\s]+:\d+:)")  # "/build/x/llama-vocab.cpp:12:" -> file

EventCallback = Callable[[ReplyEvent], None]


def host_command() -> list[str]:
    """The command that starts an engine host, from source or from a PyInstaller bundle."""
    if getattr(sys, "frozen", False):
        return [sys.executable, HOST_SUBCOMMAND]
    return [sys.executable, "-m", "chatdesk.engine.host"]


def reference_command() -> list[str]:
    """The command that runs ``bench``'s plain llama-cpp-python reference loop."""
    if getattr(sys, "frozen", False):
        return [sys.executable, REFERENCE_SUBCOMMAND]
    return [sys.executable, "-m", "chatdesk.engine.host.reference"]


def host_environment() -> dict[str, str]:
    """The host's environment: ours, with this copy of chatdesk importable."""
    env = dict(os.environ)
    package_parent = str(Path(__file__).resolve().parents[2])
    paths = [package_parent, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.setdefault("GGML_NO_BACKTRACE", "1")  # no gdb session in the log on an abort
    return env


def describe_exit(returncode: int | None) -> str:
    """Words for how a process ended."""
    if returncode is None:
        return "closed its output"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


def telling_lines(lines: list[str], fatal: Iterable[str]) -> list[str]:
    """The log lines worth quoting: the fatal ones (assertions, errors), then the last few."""
    last = lines[-LINES_IN_DEATH_MESSAGE:]
    return [line for line in fatal if line not in last] + last


def one_line(error: EngineError) -> str:
    """An engine error as one line (a crash: its summary and the telling log line)."""
    if not isinstance(error, EngineHostDied):
        return error.message.splitlines()[0] if error.message else error.code
    summary = error.summary.rstrip(".")
    telling = [line for line in error.log_tail if FATAL_LOG.search(line)]
    if not telling:
        return summary
    return f"{summary}: {SOURCE_DIRS.sub('', telling[0].strip())}"


class ReplyStream:
    """One streaming reply: events arrive on the client's reader thread.

    Use ``on_event(callback)`` (called on the reader thread, earlier events replayed first)
    or iterate ``for event in stream`` (blocking). ``text`` is the reply so far, ``wait()``
    blocks until the end and returns the stats or raises the ``EngineError``.
    """

    def __init__(self, request_id: int, cancel: Callable[[int], None]) -> None:
        self.request_id = request_id
        self._cancel = cancel
        self._lock = threading.RLock()
        self._events: list[ReplyEvent] = []
        self._callbacks: list[EventCallback] = []
        self._queue: queue.SimpleQueue[ReplyEvent] = queue.SimpleQueue()
        self._finished = threading.Event()
        self._text_parts: list[str] = []
        self.choices: list[TokenChoice] = []  # token probabilities, when asked for
        self.fitted: ContextFitted | None = None
        self.stats: ReplyStats | None = None
        self.error: EngineError | None = None

    @property
    def text(self) -> str:
        """The reply text received so far."""
        with self._lock:
            return "".join(self._text_parts)

    @property
    def done(self) -> bool:
        """True once ``ReplyDone`` or ``ReplyFailed`` has arrived."""
        return self._finished.is_set()

    def on_event(self, callback: EventCallback) -> None:
        """Call ``callback(event)`` for every event, starting with those already received."""
        with self._lock:
            for event in self._events:
                self._call(callback, event)
            self._callbacks.append(callback)

    def cancel(self) -> None:
        """Ask the host to stop this reply; it ends with ``ReplyDone`` (finish "cancelled")."""
        if not self.done:
            self._cancel(self.request_id)

    def wait(self, timeout: float | None = None) -> ReplyStats:
        """Block until the reply ends; its stats, or raise its error (TimeoutError if slow)."""
        if not self._finished.wait(timeout):
            raise TimeoutError(f"reply still running after {timeout} s")
        if self.error is not None:
            raise self.error
        assert self.stats is not None
        return self.stats

    def __iter__(self) -> Iterator[ReplyEvent]:
        """Every event in order, blocking until the reply ends."""
        while True:
            try:
                event = self._queue.get(timeout=0.25)  # a timeout keeps Ctrl-C working
            except queue.Empty:
                continue
            yield event
            if isinstance(event, ReplyDone | ReplyFailed):
                return

    def deliver(self, event: ReplyEvent) -> None:
        """Record one event and pass it on (reader thread only)."""
        with self._lock:
            if self.done:
                return
            self._record(event)
            self._events.append(event)
            self._queue.put(event)
            for callback in list(self._callbacks):
                self._call(callback, event)
            if isinstance(event, ReplyDone | ReplyFailed):
                self._finished.set()

    def _record(self, event: ReplyEvent) -> None:
        if isinstance(event, TextDelta):
            self._text_parts.append(event.text)
        elif isinstance(event, TokenProbabilities):
            self.choices.extend(event.tokens)
        elif isinstance(event, ContextFitted):
            self.fitted = event
        elif isinstance(event, ReplyDone):
            self.stats = event.stats
        elif isinstance(event, ReplyFailed):
            self.error = event.error
            self.stats = event.stats

    @staticmethod
    def _call(callback: EventCallback, event: ReplyEvent) -> None:
        try:
            callback(event)
        except Exception:  # a broken callback must not kill the reader thread
            log.exception("reply event callback failed")


def decode_vectors(value: Any) -> np.ndarray:
    """The matrix of an ``embed`` answer (base64 float32 rows); numpy is imported late."""
    import numpy as np

    count, dim = int(value["count"]), int(value["dim"])
    data = np.frombuffer(base64.b64decode(value["data"]), dtype=np.float32)
    return data.reshape(count, dim)


def event_from_message(message: dict[str, Any]) -> ReplyEvent | None:
    """The reply event a host frame describes, or None if it is not a stream event."""
    kind = message.get("type")
    if kind == "delta":
        return TextDelta(str(message["text"]))
    if kind == "probs":
        return TokenProbabilities(tuple(TokenChoice.from_wire(t) for t in message["tokens"]))
    if kind == "fitted":
        return ContextFitted(
            kept=int(message["kept"]),
            dropped_count=int(message["dropped_count"]),
            prompt_tokens=int(message["prompt_tokens"]),
            n_ctx=int(message["n_ctx"]),
        )
    if kind == "progress":
        return PromptProgress(
            evaluated=int(message["evaluated"]),
            total=int(message["total"]),
            seconds=float(message["seconds"]),
        )
    if kind == "done":
        return ReplyDone(ReplyStats.from_dict(message["stats"]))
    if kind == "failed":
        stats = message.get("stats")
        error = EngineError(str(message.get("message", "")), str(message.get("code", "")))
        return ReplyFailed(error, ReplyStats.from_dict(stats) if stats else None)
    return None


class _FutureCall:
    """A pending request answered by one result or error frame."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        self.future: Future[Any] = Future()
        self.future.set_running_or_notify_cancel()
        self.convert = convert

    def answer(self, message: dict[str, Any]) -> None:
        if message.get("type") == "error":
            error = EngineError(str(message.get("message", "")), str(message.get("code", "")))
            self.future.set_exception(error)
            return
        try:
            self.future.set_result(self.convert(message.get("value")))
        except Exception as error:  # a malformed answer fails the call, not the thread
            self.future.set_exception(EngineError(f"bad answer from engine host: {error}"))

    def fail(self, error: EngineError) -> None:
        if not self.future.done():
            self.future.set_exception(error)


Pending = _FutureCall | ReplyStream


def encoded(message: dict[str, Any]) -> bytes:
    """The frame of ``message``; EngineError (bad request) for text that is not Unicode."""
    try:
        return protocol.encode_frame(message)
    except UnicodeEncodeError as error:
        raise EngineError(
            f"the request holds text that is not valid Unicode ({error.reason})",
            ErrorCode.BAD_REQUEST,
        ) from None


class HostProcess:
    """One running engine host: the process, its pipes, and the requests waiting on it."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.log_tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
        self.fatal_lines: collections.deque[str] = collections.deque(maxlen=3)
        self._pending: dict[int, Pending] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self.alive = True
        self.closing = False
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            bufsize=0,
        )
        self._stderr_thread = threading.Thread(
            target=self._read_stderr, name="engine-host-stderr", daemon=True
        )
        self._stderr_thread.start()
        self._reader = threading.Thread(
            target=self._read_frames, name="engine-host-reader", daemon=True
        )
        self._reader.start()

    @property
    def pid(self) -> int:
        """The host's process id."""
        return self.process.pid

    def send(self, message: dict[str, Any], pending: Pending | None) -> None:
        """Register ``pending`` under the message id, then write the frame."""
        request_id = int(message["id"])
        frame = encoded(message)  # bad text is the caller's error, not the host's death
        with self._lock:
            if not self.alive:
                raise self.death_error()
            if pending is not None:
                self._pending[request_id] = pending
        try:
            with self._send_lock:
                stdin = cast(IO[bytes], self.process.stdin)
                stdin.write(frame)
                stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            self._wait_for_reader()
            with self._lock:
                self._pending.pop(request_id, None)
            raise self.death_error() from None

    def _read_stderr(self) -> None:
        stream = cast(IO[bytes], self.process.stderr)
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                self.log_tail.append(line)
                if FATAL_LOG.search(line):
                    self.fatal_lines.append(line)

    def _read_frames(self) -> None:
        stream = cast(BinaryIO, self.process.stdout)
        problem = ""
        try:
            while (message := protocol.read_frame(stream)) is not None:
                self._dispatch(message)
        except protocol.ProtocolError as error:
            problem = f" (garbled output: {error})"
        self._on_exit(problem)

    def _dispatch(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        with self._lock:
            pending = self._pending.get(request_id) if isinstance(request_id, int) else None
        if pending is None:
            return
        if isinstance(pending, ReplyStream):
            event = event_from_message(message)
            if event is None and message.get("type") == "error":
                event = ReplyFailed(
                    EngineError(str(message.get("message")), str(message.get("code")))
                )
            if event is not None:
                pending.deliver(event)
            finished = isinstance(event, ReplyDone | ReplyFailed)
        else:
            pending.answer(message)
            finished = True
        if finished:
            with self._lock:
                self._pending.pop(cast(int, request_id), None)

    def _on_exit(self, problem: str) -> None:
        if not self.closing:
            log.error("engine host %s died: %s", self.pid, problem or "exited")
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr_thread.join(timeout=2)
        self._close_pipes()
        with self._lock:
            self.alive = False
            pending = list(self._pending.values())
            self._pending.clear()
        error = self.death_error(problem)
        for item in pending:
            if isinstance(item, ReplyStream):
                item.deliver(ReplyFailed(error))
            else:
                item.fail(error)

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def _wait_for_reader(self) -> None:
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=10)

    def death_error(self, problem: str = "") -> EngineError:
        """The error for requests that can no longer be answered."""
        if self.closing:
            return EngineError("the engine was closed", ErrorCode.HOST_DIED)
        lines = list(self.log_tail)
        how = describe_exit(self.process.poll())
        summary = f"The engine host {how}{problem}."
        message = summary  # alone on the first line: what one-line readers (the API) show
        if lines:
            message += "\nLast log lines:\n" + "\n".join(telling_lines(lines, self.fatal_lines))
        return EngineHostDied(message, [*self.fatal_lines, *lines], summary)

    def close(self, timeout: float = 5.0) -> None:
        """Ask the host to exit, then make sure it has."""
        self.closing = True
        try:
            with self._send_lock:
                stdin = cast(IO[bytes], self.process.stdin)
                stdin.write(protocol.encode_frame({"id": 0, "op": "shutdown"}))
                stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=timeout)
        self._stderr_thread.join(timeout=timeout)
        self._close_pipes()


class EngineClient:
    """Talks to an engine host process; starts (and restarts) it as needed.

    Every method returns at once: results come back through futures and reply streams,
    completed on the client's reader thread.
    """

    def __init__(self, command: list[str] | None = None, auto_reload: bool = True) -> None:
        self._command = command or host_command()
        self._auto_reload = auto_reload
        self._host: HostProcess | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._loaded: LoadOptions | None = None
        self.model_info: ModelInfo | None = None
        self._capabilities = local_capabilities(takes_tools=True)  # at best
        self._closed = False

    # -- host lifecycle -------------------------------------------------------------------

    @property
    def host_pid(self) -> int | None:
        """The running host's process id, or None when none is running."""
        host = self._host
        return host.pid if host is not None and host.alive else None

    def start(self) -> None:
        """Start the host now (it imports llama.cpp while the user picks a model).

        Optional: every request starts the host when none is running.
        """
        self._live_host()

    def log_tail(self) -> list[str]:
        """The host's last stderr lines (llama.cpp's log)."""
        host = self._host
        return list(host.log_tail) if host is not None else []

    def _live_host(self, reload_model: bool = True) -> HostProcess:
        with self._lock:
            if self._closed:
                raise EngineError("the engine client is closed", ErrorCode.HOST_DIED)
            if self._host is not None and self._host.alive:
                return self._host
            try:
                self._host = HostProcess(self._command, host_environment())
                log.info("engine host started (pid %s)", self._host.pid)
            except OSError as error:
                message = f"could not start the engine host ({self._command[0]}): {error}"
                log.error("%s", message)
                raise EngineError(message, ErrorCode.HOST_DIED) from None
            host = self._host
        if reload_model and self._auto_reload and self._loaded is not None:
            self._send(host, "load", {"options": self._loaded.to_dict()}, _FutureCall(dict))
        return host

    def _send(
        self, host: HostProcess, op: str, fields: dict[str, Any], pending: Pending | None
    ) -> int:
        request_id = pending.request_id if isinstance(pending, ReplyStream) else next(self._ids)
        host.send({"id": request_id, "op": op, **fields}, pending)
        return request_id

    def _call(self, op: str, fields: dict[str, Any], convert: Callable[[Any], Any]) -> Future[Any]:
        call = _FutureCall(convert)
        try:
            host = self._live_host(reload_model=op != "load")
            self._send(host, op, fields, call)
        except EngineError as error:
            call.fail(error)
        return call.future

    # -- requests -------------------------------------------------------------------------

    def load(self, options: LoadOptions) -> Future[ModelInfo]:
        """Load a model (replacing any loaded one); the future gives its ``ModelInfo``."""
        self._loaded = None
        self.model_info = None

        def remember(value: Any) -> ModelInfo:
            info = ModelInfo.from_dict(value)
            self._loaded, self.model_info = options, info
            self._capabilities = EngineCapabilities.from_dict(value.get("capabilities") or {})
            return info

        return self._call("load", {"options": options.to_dict()}, remember)

    def unload(self) -> Future[None]:
        """Free the model (and its memory) in the host."""
        self._loaded = None
        self.model_info = None
        if self.host_pid is None:
            done: Future[None] = Future()
            done.set_result(None)
            return done
        return self._call("unload", {}, lambda _value: None)

    def status(self) -> Future[dict[str, Any]]:
        """The host's state: model, context use, saved conversation states, memory."""
        if self.host_pid is None:
            idle: Future[dict[str, Any]] = Future()
            idle.set_result({"host_running": False, "model": None})
            return idle
        return self._call("status", {}, lambda value: {"host_running": True, **dict(value)})

    @property
    def capabilities(self) -> EngineCapabilities:
        """What the engine host honours for the loaded model (before a load: at best)."""
        return self._capabilities

    def render(self, request: ChatRequest) -> Future[RenderedPrompt]:
        """The exact prompt text the model would see for ``request``, and its token count."""
        return self._call(
            "render",
            {"request": request.to_wire()},
            lambda value: RenderedPrompt(str(value[0]), int(value[1]), exact=True),
        )

    def count_tokens(self, texts: Sequence[str]) -> Future[list[int]]:
        """The tokens each text takes as a message's content, counted by the model."""
        return self._call("count", {"texts": list(texts)}, lambda value: [int(n) for n in value])

    def warm(self, request: ChatRequest) -> Future[dict[str, Any]]:
        """Fill the KV cache with ``request``'s conversation (its last message may be the
        user's unsent draft) before its next turn; any later request cancels it. The
        future gives ``evaluated``, ``kv_source``, ``cancelled`` and ``seconds``."""
        return self._call("warm", {"request": request.to_wire()}, dict)

    def generate(self, request: ChatRequest) -> ReplyStream:
        """Start a reply to ``request`` and stream it."""
        return self._stream("generate", {"request": request.to_wire()})

    def complete(self, prompt: str, sampling: SamplingSettings | None = None) -> ReplyStream:
        """Continue ``prompt`` as plain text (no chat template): a text completion."""
        fields = {"prompt": prompt, "sampling": (sampling or SamplingSettings()).to_dict()}
        return self._stream("complete", fields)

    def _stream(self, op: str, fields: dict[str, Any]) -> ReplyStream:
        stream = ReplyStream(next(self._ids), self._cancel)
        try:
            self._send(self._live_host(), op, fields, stream)
        except EngineError as error:
            stream.deliver(ReplyFailed(error))
        return stream

    def embed(self, model_path: str, texts: list[str]) -> Future[np.ndarray]:
        """Embedding vectors of ``texts`` (one float32 row each) from an embedding GGUF.

        The host opens that model on first use, beside the chat model, and keeps it open.
        """
        return self._call("embed", {"model": model_path, "texts": texts}, decode_vectors)

    def _cancel(self, target: int) -> None:
        host = self._host
        if host is None or not host.alive:
            return
        with contextlib.suppress(EngineError):  # if the host is gone, its death ended the stream
            host.send({"id": next(self._ids), "op": "cancel", "target": target}, None)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the host and fail anything still pending. The client cannot be reused."""
        with self._lock:
            self._closed = True
            host, self._host = self._host, None
        if host is not None:
            host.close(timeout)

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
