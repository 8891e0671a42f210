"""OpenAI function calling on chat completions: the reply's calls sent back as
``tool_calls`` (whole, or as streamed deltas) with ``finish_reason "tool_calls"``.

The request's ``tools`` / ``tool_choice`` / ``parallel_tool_calls`` travel in the
``ChatRequest`` (``schemas.ChatCompletionRequest.chat_request``); the engine offers the tools
natively or in the system prompt, and holds ``required`` / named calls to a grammar
(``chatdesk.engine.tool_constraint``). Here the reply is read by the same ``ToolCallStream``
as the window's, in the format the model writes (``formats.reply_format``): text outside
calls is the message's ``content``, reasoning is ``reasoning_content`` (as llama-server sends
it), and each call, once its block is complete, becomes one ``tool_calls`` entry (its whole
``arguments`` JSON in one delta; OpenAI clients join deltas by ``index``). A call that could
not be read is left out (OpenAI has no shape for it); with ``parallel_tool_calls`` false only
the first call is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import ModelInfo
from chatdesk.tools.calls import ToolCall
from chatdesk.tools.formats import reasoning_only, reply_format
from chatdesk.tools.streaming import ParsedReply, ToolCallStream


@dataclass
class ReplyReader:
    """A reply read for calls and reasoning (``single_call``: parallel calls are off)."""

    stream: ToolCallStream
    single_call: bool = False

    def sendable(self) -> list[ToolCall]:
        """The calls that can be sent: readable and named (the first only when single)."""
        calls = [c for c in self.stream.calls if not c.error and c.name]
        return calls[:1] if self.single_call else calls


def reply_reader(request: ChatRequest, info: ModelInfo | None) -> ReplyReader:
    """The reader of a reply to ``request``: calls in the model's format when tools were
    offered, reasoning apart always."""
    offered = bool(request.tools) and request.tool_choice.mode != "none"
    fmt = reply_format(info.tool_format if info else "", request.tool_choice.mode)
    stream = ToolCallStream(
        fmt if offered else reasoning_only(fmt),
        thinking_open=bool(info and info.thinking_open),
        tool_names=[t.name for t in request.tools],
    )
    return ReplyReader(stream, not request.parallel_tool_calls)


def openai_call(call: ToolCall, index: int | None = None) -> dict[str, Any]:
    """A call as an entry of ``tool_calls`` (with ``index`` in a streamed delta)."""
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    entry = {**stored_call(call), "function": {"name": call.name, "arguments": arguments}}
    return entry if index is None else {"index": index, **entry}


def stored_call(call: ToolCall) -> dict[str, Any]:
    """A sent call as a saved reply keeps it: the window's shape (``ToolCall.to_message``,
    arguments an object) under the id clients are given."""
    return {**call.to_message(), "id": f"call_{call.id}"}


def read_whole(reader: ReplyReader, text: str) -> ParsedReply:
    """``text`` read as one whole reply (its calls are then ``reader.sendable()``)."""
    reader.stream.feed(text)
    return reader.stream.finish()


def whole_message(reader: ReplyReader, text: str) -> dict[str, Any]:
    """The ``message`` of a non-streamed answer with ``text``."""
    parsed = read_whole(reader, text)
    calls = reader.sendable()
    message: dict[str, Any] = {"role": "assistant", "content": parsed.content or None}
    if calls:
        message["tool_calls"] = [openai_call(c) for c in calls]
    elif message["content"] is None:
        message["content"] = ""
    if parsed.reasoning:
        message["reasoning_content"] = parsed.reasoning
    return message
