"""The engine interface: what the window, the command line and the API server program against.

An engine turns a conversation (plain chat messages, oldest first) into a stream of reply
events. Two kinds implement it: the local llama.cpp engine host (``EngineClient``) and remote
OpenAI-compatible servers. Nothing here is specific to llama.cpp: a remote engine "loads" a
model by checking that the server serves that id (``LoadOptions.path`` holds the id and the
llama.cpp options are ignored) and reports what it knows of it in ``ModelInfo``.

Every method returns at once. Results arrive through futures and reply handles, completed
on the engine's own threads; callers that need them on another thread (the GUI) hop there
themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, runtime_checkable

from chatdesk.engine.types import LoadOptions, ModelInfo, ReplyEvent, ReplyStats, SamplingSettings

EventCallback = Callable[[ReplyEvent], None]
ChatMessage = dict[str, Any]  # {"role": ..., "content": ...} and, for tools, more keys


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


@runtime_checkable
class Engine(Protocol):
    """A source of replies: a local model in the engine host, or a remote server."""

    model_info: ModelInfo | None

    def start(self) -> None:
        """Get ready early (start a process, open a connection); optional to call."""

    def load(self, options: LoadOptions) -> Future[ModelInfo]:
        """Make ``options.path`` (a file, or a remote model id) the model that replies."""

    def unload(self) -> Future[None]:
        """Free the model."""

    def status(self) -> Future[dict[str, Any]]:
        """What the engine reports about itself (model, memory, context use...)."""

    def render_prompt(
        self,
        messages: list[ChatMessage],
        system_prompt: str = "",
        add_generation_prompt: bool = True,
    ) -> Future[tuple[str, int]]:
        """The prompt the model would see, and its token count (remote: an estimate)."""

    def generate(
        self,
        messages: list[ChatMessage],
        system_prompt: str = "",
        sampling: SamplingSettings | None = None,
        conversation_key: str | None = None,
    ) -> ReplyHandle:
        """Start a reply to ``messages`` and stream it.

        The last message is normally the user's. When it is the assistant's, the engine
        continues that unfinished reply: the events carry only the new text.
        """

    def close(self, timeout: float = 5.0) -> None:
        """Release everything; the engine cannot be used afterwards."""
