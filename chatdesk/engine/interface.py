"""The engine interface: what the window, the command line and the API server program against.

An engine turns a ``ChatRequest`` (chatdesk.engine.request: the conversation, the system
prompt, sampling, tools, response format, token probabilities...) into a stream of reply
events, or renders it into the prompt the model would see. It reports what it can honour
(``capabilities``) and refuses a request asking for more, up front, rather than dropping
a field. Two kinds implement it: the local llama.cpp engine host (``EngineClient``) and remote
OpenAI-compatible servers. Nothing here is specific to llama.cpp: a remote engine "loads" a
model by checking that the server serves that id (``LoadOptions.path`` holds the id and the
llama.cpp options are ignored) and reports what it knows of it in ``ModelInfo``.

Every method returns at once. Results arrive through futures and reply handles, completed
on the engine's own threads; callers that need them on another thread (the GUI) hop there
themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol, runtime_checkable

from chatdesk.engine.request import ChatRequest, EngineCapabilities, RenderedPrompt
from chatdesk.engine.types import LoadOptions, ModelInfo, ReplyEvent, ReplyStats

EventCallback = Callable[[ReplyEvent], None]
ChatMessage = dict[str, Any]  # a chat dict, as the store's history holds it (Message.from_chat)


@runtime_checkable
class ReplyHandle(Protocol):
    """One reply being generated."""

    def on_event(self, callback: EventCallback) -> None:
        """Call ``callback`` for every event, in order; events already seen are replayed."""

    def cancel(self) -> None:
        """Ask the engine to stop; the reply then ends with ``finish_reason='cancelled'``."""

    def wait(self, timeout: float | None = None) -> ReplyStats:
        """Block until the reply ends; its stats, or the engine's error raised."""

    @property
    def done(self) -> bool:
        """True once the last event (done or failed) arrived."""


class Engine(Protocol):
    """A source of replies: a local model in the engine host, or a remote server.

    Not runtime-checkable on purpose: an ``isinstance`` test only sees method names. mypy
    checks every implementation and wrapper structurally (signatures included), and the
    conformance suite (tests/engine_conformance) checks what each one does."""

    @property
    def model_info(self) -> ModelInfo | None:
        """The loaded model (None before a load)."""

    def start(self) -> None:
        """Get ready early (start a process, open a connection); optional to call."""

    def load(self, options: LoadOptions) -> Future[ModelInfo]:
        """Make ``options.path`` (a file, or a remote model id) the model that replies."""

    def unload(self) -> Future[None]:
        """Free the model."""

    def status(self) -> Future[dict[str, Any]]:
        """What the engine reports about itself (model, memory, context use...)."""

    @property
    def capabilities(self) -> EngineCapabilities:
        """What this engine can honour of a ``ChatRequest`` for the loaded model (before a
        load: what it can honour at best). A request asking for more fails up front."""

    def render(self, request: ChatRequest) -> Future[RenderedPrompt]:
        """The prompt the model would see for ``request`` (its messages, examples, tools,
        ``add_generation_prompt``...), its token count, and whether both are exact (a
        remote server applies its own template: an estimate)."""

    def count_tokens(self, texts: Sequence[str]) -> Future[list[int]]:
        """The tokens each text takes as a message's content for the loaded model (control
        tokens spelled out in it count as plain text, as the template reads them): exact
        where ``render`` is, else an estimate. What a feature that puts text of unknown
        density in a prompt (document passages) sizes it by."""

    def generate(self, request: ChatRequest) -> ReplyHandle:
        """Start a reply to ``request`` and stream it.

        The last message is normally the user's (or, in a tool loop, a tool result). When
        it is the assistant's (``request.continues``), the engine continues that unfinished
        reply: the events carry only the new text. Leading example messages are few-shot
        examples, never dropped to fit the context. ``request.logprobs`` > 0 asks for
        ``TokenProbabilities`` events. A field the engine cannot honour (see
        ``capabilities``) fails the reply at once with an ``unsupported`` EngineError.
        """

    def close(self, timeout: float = 5.0) -> None:
        """Release everything; the engine cannot be used afterwards."""


@runtime_checkable
class HoldsReplies(Protocol):
    """An engine whose replies queue with other callers' (the API server's lane). A turn
    that prepares its request on the same engine first (documents embedded and counted)
    ``hold``s it: no other caller's reply starts until the returned function is called, so
    the turn waits only for the reply already running, not for each one started while it
    was prepared."""

    def hold(self) -> Callable[[], None]:
        """Keep other callers' replies from starting; the function ends the hold (once)."""
        ...


@runtime_checkable
class WarmsConversations(Protocol):
    """An engine that can fill its KV cache with a conversation before its next turn is
    sent (the local engine host; see chatdesk/engine/host/warming.py). Optional: the
    window warms where the engine has it, and nothing else depends on it."""

    def warm(self, request: ChatRequest) -> Future[dict[str, Any]]:
        """Evaluate ``request``'s conversation ahead of time (its last message may be the
        user's unsent draft); any later request cancels it."""
