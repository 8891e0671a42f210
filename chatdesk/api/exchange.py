"""The API's exchanges, for whoever keeps them (``ApiConfig.on_exchange``: ``chatdesk serve
--save-conversations`` and the window's API switch save each one as a conversation).

A chat request's reply is read here on the engine's thread as its events arrive, apart from
the answer the client gets, so an exchange is reported however its reply ended: finished,
stopped because the client went away (the engine's ``cancelled``), or failed mid-way (the
engine host died: the text so far and the error), even when the client's answer was never
finished. A reply in which no text arrived is not reported (nothing to keep).

What is reported is what a window turn keeps: the request's messages as the chat template
takes them (``Message.to_template``: an assistant message's ``tool_calls`` and a tool
result's ``tool_call_id`` kept), and the reply read by the same ``reply_reader`` as the
client's answer: its text outside calls, the calls it made (``stored_call``: the window's
shape), its reasoning apart, and its token probabilities when the request asked for them.
A call the model wrote without an id is given one by each reading, so such a call's id here
may differ from the one in the client's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from chatdesk.api.tool_calls import ReplyReader, read_whole, stored_call
from chatdesk.engine.interface import ReplyHandle
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import (
    EngineError,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    ReplyStats,
    SamplingSettings,
    TextDelta,
    TokenChoice,
    TokenProbabilities,
)


@dataclass(frozen=True)
class ApiExchange:
    """One ended chat request: who asked, what, and the reply as it ended."""

    client: str
    model_id: str
    system_prompt: str
    messages: list[dict[str, Any]]  # the request's, as the chat template takes them
    sampling: SamplingSettings
    reply: str = ""  # the text outside calls and reasoning
    stats: ReplyStats | None = None  # None: the reply failed before the engine had any
    tool_calls: list[dict[str, Any]] | None = None  # the calls the reply made
    reasoning: str = ""
    tokens: tuple[TokenChoice, ...] = ()  # the reply's token probabilities, when asked for
    error: EngineError | None = None  # why the reply failed (the text so far is kept)


ExchangeHook = Callable[[ApiExchange], None]


def exchange_for(client: str, model_id: str, chat: ChatRequest) -> ApiExchange:
    """The exchange of a request, before its reply."""
    messages = [m.to_template() for m in chat.messages]
    return ApiExchange(client, model_id, chat.system_prompt, messages, chat.sampling)


@dataclass
class ExchangeReader:
    """Collects a reply's events (engine's thread) and reports the exchange as it ends."""

    hook: ExchangeHook
    asked: ApiExchange
    reader: ReplyReader
    parts: list[str] = field(default_factory=list)
    tokens: list[TokenChoice] = field(default_factory=list)

    def __call__(self, event: ReplyEvent) -> None:
        if isinstance(event, TextDelta):
            self.parts.append(event.text)
        elif isinstance(event, TokenProbabilities):
            self.tokens.extend(event.tokens)
        elif isinstance(event, ReplyDone | ReplyFailed) and self.parts:
            self.hook(self.ended(event))

    def ended(self, event: ReplyDone | ReplyFailed) -> ApiExchange:
        """The exchange with its reply, read for calls and reasoning."""
        parsed = read_whole(self.reader, "".join(self.parts))
        calls = [stored_call(call) for call in self.reader.sendable()]
        error = event.error if isinstance(event, ReplyFailed) else None
        return replace(
            self.asked, reply=parsed.content, stats=event.stats, tool_calls=calls or None,
            reasoning=parsed.reasoning, tokens=tuple(self.tokens), error=error,
        )  # fmt: skip


def report_exchange(
    handle: ReplyHandle, hook: ExchangeHook, asked: ApiExchange, reader: ReplyReader
) -> None:
    """Call ``hook`` with the whole exchange once ``handle`` ends, however it ends, where
    some text arrived (any thread); ``reader``: a reader of its own for this reply."""
    handle.on_event(ExchangeReader(hook, asked, reader))
