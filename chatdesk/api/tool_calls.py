"""OpenAI function calling on chat completions: the request's tools offered to the model
(natively or in the generic format, ``chatdesk.services.tool_plan``), and the reply's calls
sent back as ``tool_calls`` (whole, or as streamed deltas), with ``finish_reason
"tool_calls"``.

The reply is read by the same ``ToolCallStream`` as the window's: text outside calls is the
message's ``content``, reasoning is ``reasoning_content`` (as llama-server sends it), and
each call, once its block is complete, becomes one ``tool_calls`` entry (its whole
``arguments`` JSON in one delta; OpenAI clients join deltas by ``index``). A call the model
wrote but that could not be read is left out (there is no OpenAI shape for it).

Earlier turns come back on the next request as OpenAI messages: an assistant message with
``tool_calls`` and ``tool`` messages with the results; they are passed to the chat template
as such (``tool_calls`` with parsed arguments), or written as text for the generic format.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from chatdesk.api.errors import ApiError
from chatdesk.api.schemas import ChatCompletionRequest, ChatMessageIn
from chatdesk.engine.types import ModelInfo
from chatdesk.services.tool_plan import ToolPlan, plan_tools
from chatdesk.tools.calls import ToolCall
from chatdesk.tools.formats import format_for
from chatdesk.tools.streaming import ParsedReply, ToolCallStream


def request_plan(body: ChatCompletionRequest, info: ModelInfo | None) -> ToolPlan:
    """The tool plan for a chat completion (400 for a named tool that is not offered)."""
    tools = [t.model_dump() for t in body.tools or []]
    choice, name = "auto", None
    if isinstance(body.tool_choice, str):
        choice = body.tool_choice
    elif body.tool_choice is not None:
        choice, name = "named", body.tool_choice.function.name
        if name not in {t["function"]["name"] for t in tools}:
            raise ApiError(400, f"tool_choice names {name!r}, which is not in tools", "tool_choice")
    if choice in ("required", "named") and not tools:
        raise ApiError(400, f"tool_choice {choice!r} needs tools", "tool_choice")
    tool_format = info.tool_format if info else ""
    return plan_tools(tools, tool_format, choice, name, body.parallel_tool_calls)


def chat_message(message: ChatMessageIn, role: str) -> dict[str, Any]:
    """One request message as the chat template takes it."""
    out: dict[str, Any] = {"role": role, "content": message.text()}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id or uuid.uuid4().hex[:9], "type": "function",
             "function": {"name": c.function.name, "arguments": _arguments(c.function.arguments)}}
            for c in message.tool_calls
        ]  # fmt: skip
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None and role == "tool":
        out["name"] = message.name
    return out


def _arguments(raw: str | dict[str, Any]) -> Any:
    if isinstance(raw, dict):
        return raw
    try:
        return json.loads(raw or "{}")
    except ValueError:
        return raw


def reply_reader(plan: ToolPlan, info: ModelInfo | None) -> ToolCallStream:
    """The reader of a reply to a request offered ``plan``'s tools."""
    return ToolCallStream(
        format_for(plan.parser_format),
        thinking_open=bool(info and info.thinking_open),
        tool_names=plan.names,
    )


def openai_call(call: ToolCall, index: int | None = None) -> dict[str, Any]:
    """A call as an entry of ``tool_calls`` (with ``index`` in a streamed delta)."""
    entry: dict[str, Any] = {
        "id": f"call_{call.id}",
        "type": "function",
        "function": {
            "name": call.name,
            "arguments": json.dumps(call.arguments, ensure_ascii=False),
        },
    }
    return entry if index is None else {"index": index, **entry}


def valid_calls(calls: list[ToolCall]) -> list[ToolCall]:
    """The calls that can be sent (readable, named)."""
    return [c for c in calls if not c.error and c.name]


def whole_message(parsed: ParsedReply) -> dict[str, Any]:
    """The ``message`` of a non-streamed answer."""
    calls = valid_calls(parsed.calls)
    message: dict[str, Any] = {"role": "assistant", "content": parsed.content or None}
    if calls:
        message["tool_calls"] = [openai_call(c) for c in calls]
    elif message["content"] is None:
        message["content"] = ""
    if parsed.reasoning:
        message["reasoning_content"] = parsed.reasoning
    return message
