"""The body of ``POST /v1/chat/completions`` as the OpenAI API spells it: the messages
(the system prompt first; an assistant's tool calls and a tool result's call id), the tools,
the tool choice and the response format in the server's dialect. ``RemoteEngine`` adds
the sampling fields (``chatdesk.remote.sampling``) and streaming.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatdesk.engine.request import ChatRequest, Message, ResponseFormat, ToolChoice, ToolSpec


def chat_messages(system_prompt: str, messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The request's ``messages``: the system prompt first, when there is one; an
    assistant's tool calls and a tool result's call id as the OpenAI API spells them
    (examples go as ordinary messages: the API has no mark for them)."""
    head = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return head + [api_message(m) for m in messages]


def api_message(message: Message) -> dict[str, Any]:
    """One chat message for the server (tool-call arguments as the JSON text written)."""
    out: dict[str, Any] = {"role": message.role, "content": message.text}
    if message.tool_calls:
        out["tool_calls"] = [call.to_openai() for call in message.tool_calls]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    return out


def api_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tools as the API's ``{"type": "function", "function": {...}}`` entries."""
    return [tool.to_openai() for tool in tools]


def api_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    """``tool_choice`` as the API spells it."""
    if choice.mode == "named":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def api_response_format(wanted: ResponseFormat, dialect: str) -> dict[str, Any]:
    """``response_format`` as the server's dialect spells it (llama-cpp-python takes a
    schema inside a ``json_object`` format; the others OpenAI's ``json_schema``)."""
    schema = wanted.schema_dict
    if wanted.type != "json_schema" or schema is None:
        return {"type": wanted.type}
    if dialect == "llama-cpp-python":
        return {"type": "json_object", "schema": schema}
    named = {"name": wanted.name or "reply", "schema": schema, "strict": wanted.strict}
    return {"type": "json_schema", "json_schema": named}


def request_fields(request: ChatRequest, dialect: str) -> dict[str, Any]:
    """The body fields for the request's tools and response format (none when unused)."""
    fields: dict[str, Any] = {}
    if request.tools:
        fields["tools"] = api_tools(request.tools)
        if request.tool_choice.mode != "auto":
            fields["tool_choice"] = api_tool_choice(request.tool_choice)
        if not request.parallel_tool_calls:
            fields["parallel_tool_calls"] = False
    elif request.tool_choice.mode == "none":
        fields["tool_choice"] = "none"
    wanted = request.response_format
    if wanted is not None and wanted.type != "text":
        fields["response_format"] = api_response_format(wanted, dialect)
    return fields
