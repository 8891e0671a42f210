"""The engine host's main loop: frames in on stdin, frames out on the saved stdout.

A reader thread reads requests: ``cancel`` and ``status`` are answered at once (so a reply
can be cancelled while it runs), everything else is queued for the main thread, which owns
the model and works through the queue one request at a time. When the queue has stayed
empty for ``IDLE_SAVE`` seconds after a reply (warms aside: the window warms the conversation
as the reply ends and as the user types), the main thread saves the conversation's KV
state once (``Engine.idle``): the user is reading, and a later switch then costs no save. A
request that comes in during that save (tens of ms) waits for it. Reply text is sent as
``delta`` frames, coalesced to at most one frame per ``DELTA_INTERVAL`` seconds so a fast
model does not drown the pipe (the first piece of text goes out at once). Token
probabilities, when a request asks for them, travel the same way as ``probs`` frames (a
list of compact ``TokenChoice`` entries), each sent just before the text it belongs with.

Before anything else the protocol's file descriptor is set aside and fd 1 is pointed at
stderr, so stray output from C code can never corrupt the frame stream. End of stdin (the
app went away) or ``shutdown`` cancels the running reply and exits.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any, BinaryIO

from chatdesk.engine import protocol
from chatdesk.engine.host.embedding import Embeddings
from chatdesk.engine.host.engine import Engine, EngineFailure, ReplyJob
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.request_wire import sampling_from_wire
from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    ErrorCode,
    LoadOptions,
    PromptProgress,
    ReplyStats,
)

# Seconds between text frames at most (the first text goes out at once): the window draws
# at most 30 times a second, and each frame costs the app about 150 us of CPU (read, JSON,
# hand-over), time taken from llama.cpp's threads on a small machine.
DELTA_INTERVAL = 1 / 30
# Seconds without a request after a reply before the idle save: longer than the gap between
# an API client's back-to-back requests, shorter than a person reading the reply.
IDLE_SAVE = 0.5
_STOP = object()


class DeltaSender:
    """Collects reply text and sends it as ``delta`` frames, at most one per interval."""

    def __init__(self, server: HostServer, request_id: int, interval: float) -> None:
        self._server = server
        self._id = request_id
        self._interval = interval
        self._parts: list[str] = []
        self._choices: list[list[Any]] = []
        self._last = 0.0

    def __call__(self, text: str) -> None:
        self._parts.append(text)
        now = time.perf_counter()
        if now - self._last >= self._interval:
            self._last = now
            self.flush()

    def add_choice(self, choice: list[Any]) -> None:
        """Buffer one token's probabilities, ``TokenChoice.to_wire`` form (sent with the
        next text frame)."""
        self._choices.append(choice)

    def flush(self) -> None:
        """Send whatever is buffered."""
        if self._choices:
            choices, self._choices = self._choices, []
            self._server.send({"id": self._id, "type": "probs", "tokens": choices})
        if self._parts:
            text = "".join(self._parts)
            self._parts.clear()
            self._server.send({"id": self._id, "type": "delta", "text": text})


class HostServer:
    """Reads requests, runs them on the engine, writes answers."""

    def __init__(self, engine: Engine, stdin: BinaryIO, out_fd: int) -> None:
        self.engine = engine
        self._stdin = stdin
        self._out_fd = out_fd
        self._out_lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._cancels: dict[int, threading.Event] = {}
        self._cancels_lock = threading.Lock()
        self._warms: dict[int, threading.Event] = {}  # warms queued or running
        self._save_due = False  # the idle save, after a reply
        self._closing = threading.Event()
        self.embeddings = Embeddings()  # the embedding model, opened by the first ``embed``

    # -- output ---------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        """Write one frame; if the app has gone, start shutting down."""
        try:
            with self._out_lock:
                protocol.write_frame_fd(self._out_fd, message)
        except OSError:
            self._shut_down()

    # -- input ----------------------------------------------------------------------------

    def _read_requests(self) -> None:
        try:
            while (message := protocol.read_frame(self._stdin)) is not None:
                self._accept(message)
        except protocol.ProtocolError as error:
            print(f"chatdesk-host: bad request stream: {error}", file=sys.stderr, flush=True)
        self._shut_down()

    def _accept(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        request_id = message.get("id")
        if not isinstance(request_id, int) or op not in protocol.OPS:
            self.send(protocol.error_message(-1, ErrorCode.BAD_REQUEST, f"bad request {op!r}"))
            return
        if op == "cancel":
            self._cancel(message.get("target"))
        elif op == "status":
            self.send(protocol.result_message(request_id, self.engine.status()))
        elif op == "shutdown":
            self._shut_down()
        else:
            if op in ("load", "unload"):
                self._cancel_all()  # a reply to a model about to go is not wanted any more
            with self._cancels_lock:
                for warming in self._warms.values():  # a warm is a hint: anything else first
                    warming.set()
                if op in ("generate", "complete"):
                    self._cancels[request_id] = threading.Event()
                elif op == "warm":
                    self._warms[request_id] = threading.Event()
            self._queue.put(message)

    def _cancel(self, target: object) -> None:
        with self._cancels_lock:
            event = self._cancels.get(target) if isinstance(target, int) else None
        if event is not None:
            event.set()

    def _cancel_all(self) -> None:
        with self._cancels_lock:
            for event in [*self._cancels.values(), *self._warms.values()]:
                event.set()

    def _shut_down(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()
        self._cancel_all()
        self._queue.put(_STOP)

    # -- work -----------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until shutdown or end of input; the exit status."""
        reader = threading.Thread(target=self._read_requests, name="host-reader", daemon=True)
        reader.start()
        while (message := self._next()) is not _STOP:
            with self._busy():
                self._handle(message)
            if message["op"] not in ("warm", "count"):  # hints and counts leave it due
                self._save_due = message["op"] in ("generate", "complete")
        self.engine.unload()
        self.embeddings.close()
        return 0

    def _next(self) -> Any:
        """The next queued message; while the idle save is due (a reply ended and only warms
        came since), if none comes within ``IDLE_SAVE`` seconds, the save runs first, once."""
        if self._save_due:
            try:
                return self._queue.get(timeout=IDLE_SAVE)
            except queue.Empty:
                self._save_due = False
                self._idle()
        return self._queue.get()

    def _idle(self) -> None:
        with self._busy():
            try:
                self.engine.idle()
            except Exception:  # a failed save only loses a shortcut: the switch saves again
                traceback.print_exc(file=sys.stderr)

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        """The engine's ``status`` says busy meanwhile."""
        self.engine.busy = True
        try:
            yield
        finally:
            self.engine.busy = False

    def _handle(self, message: dict[str, Any]) -> None:
        request_id = int(message["id"])
        op = message["op"]
        try:
            if op in ("generate", "complete"):
                self._generate(request_id, message)
                return
            value = self._run_op(op, message)
        except EngineFailure as failure:
            self.send(protocol.error_message(request_id, failure.code, str(failure)))
        except EngineError as error:  # a malformed request (ChatRequest.from_wire)
            self.send(protocol.error_message(request_id, error.code, error.message))
        except (KeyError, TypeError, ValueError) as error:
            self.send(protocol.error_message(request_id, ErrorCode.BAD_REQUEST, repr(error)))
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            self.send(protocol.error_message(request_id, ErrorCode.INTERNAL, repr(error)))
        else:
            self.send(protocol.result_message(request_id, value))

    def _run_op(self, op: str, message: dict[str, Any]) -> Any:
        if op == "load":
            info = self.engine.load(LoadOptions.from_dict(message["options"])).to_dict()
            return {**info, "capabilities": self.engine.capabilities.to_dict()}
        if op == "unload":
            self.engine.unload()
            return None
        if op == "render":
            return list(self.engine.render(ChatRequest.from_wire(message.get("request"))))
        if op == "embed":
            return self.embeddings.embed(str(message["model"]), message["texts"])
        if op == "warm":
            return self._warm(int(message["id"]), message)
        if op == "count":
            return self.engine.count_tokens(message["texts"])
        raise ValueError(f"unknown op {op}")

    def _warm(self, request_id: int, message: dict[str, Any]) -> dict[str, Any]:
        with self._cancels_lock:
            cancel = self._warms.setdefault(request_id, threading.Event())
        try:
            if cancel.is_set():  # superseded while queued
                return protocol.nothing_warmed(cancelled=True)
            return self.engine.warm(ChatRequest.from_wire(message.get("request")), cancel)
        finally:
            with self._cancels_lock:
                self._warms.pop(request_id, None)

    def _generate(self, request_id: int, message: dict[str, Any]) -> None:
        with self._cancels_lock:
            cancel = self._cancels.setdefault(request_id, threading.Event())
        deltas = DeltaSender(self, request_id, DELTA_INTERVAL)
        try:
            job = ReplyJob(
                cancel,
                lambda fitted: self._send_fitted(request_id, fitted),
                deltas,
                on_progress=lambda progress: self._send_progress(request_id, progress),
                on_choice=deltas.add_choice,
            )
            stats = self._run_reply(message, job)
        except EngineFailure as failure:
            deltas.flush()
            self._send_failed(request_id, failure.code, str(failure), failure.stats)
        except EngineError as error:  # a malformed request (ChatRequest.from_wire)
            self._send_failed(request_id, error.code, error.message, None)
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            deltas.flush()
            self._send_failed(request_id, ErrorCode.INTERNAL, repr(error), None)
        else:
            deltas.flush()
            self.send({"id": request_id, "type": "done", "stats": stats.to_dict()})
        finally:
            with self._cancels_lock:
                self._cancels.pop(request_id, None)

    def _run_reply(self, message: dict[str, Any], job: ReplyJob) -> ReplyStats:
        """A chat reply (``generate``: one validated ``ChatRequest``) or a text completion
        (``complete``: ``prompt`` and ``sampling``)."""
        if message["op"] == "complete":
            prompt = message.get("prompt")
            if not isinstance(prompt, str):
                raise EngineError(
                    "bad request: complete needs a text prompt", ErrorCode.BAD_REQUEST
                )
            return self.engine.complete(prompt, sampling_from_wire(message.get("sampling")), job)
        return self.engine.generate(ChatRequest.from_wire(message.get("request")), job)

    def _send_fitted(self, request_id: int, fitted: ContextFitted) -> None:
        self.send(
            {
                "id": request_id,
                "type": "fitted",
                "kept": fitted.kept,
                "dropped_count": fitted.dropped_count,
                "prompt_tokens": fitted.prompt_tokens,
                "n_ctx": fitted.n_ctx,
            }
        )

    def _send_progress(self, request_id: int, progress: PromptProgress) -> None:
        self.send(
            {
                "id": request_id,
                "type": "progress",
                "evaluated": progress.evaluated,
                "total": progress.total,
                "seconds": progress.seconds,
            }
        )

    def _send_failed(self, request_id: int, code: str, text: str, stats: ReplyStats | None) -> None:
        failed: dict[str, Any] = {"id": request_id, "type": "failed", "code": code}
        failed["message"] = text
        failed["stats"] = stats.to_dict() if stats else None
        self.send(failed)


def claim_stdout() -> int:
    """Keep the real stdout for frames and point fd 1 at stderr for everything else."""
    out_fd = os.dup(1)
    os.dup2(2, 1)
    return out_fd
