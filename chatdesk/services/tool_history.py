"""Tool calls and results between the store's message tree and the chat template.

An assistant message that called tools is stored with its ``tool_calls`` (OpenAI shape:
``[{"id", "type": "function", "function": {"name", "arguments"}}]``) and each result as a
``tool`` message whose ``tool_call_id`` names its call. Both are re-sent on the next turn:
``chat_messages`` turns a branch of stored messages into what the template receives,
giving each tool message the ``name`` of the call it answers (several templates print it)
and keeping an assistant message that only called tools even though its text is empty.
``store_tool_result`` stores one result of the tool loop (the assistant rows, with their
calls, are written by the one reply writer, ``chatdesk.services.replies``).
"""

from __future__ import annotations

from typing import Any

from chatdesk.store import Message, Store

CHAT_ROLES = ("user", "assistant", "tool")


def _sendable(message: Message) -> bool:
    if message.role not in CHAT_ROLES or message.status == "error":
        return False
    return bool(message.content or message.tool_calls or message.role == "tool")


def call_names(messages: list[Message]) -> dict[str, str]:
    """Call id -> tool name, for every call in ``messages``."""
    names: dict[str, str] = {}
    for message in messages:
        for call in message.tool_calls or []:
            function = call.get("function") or {}
            if isinstance(call.get("id"), str) and isinstance(function.get("name"), str):
                names[call["id"]] = function["name"]
    return names


def chat_message(message: Message, names: dict[str, str]) -> dict[str, Any]:
    """One stored message as a chat-template message."""
    chat: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        chat["tool_calls"] = message.tool_calls
    if message.role == "tool":
        chat["tool_call_id"] = message.tool_call_id or ""
        chat["name"] = names.get(message.tool_call_id or "", "")
    return chat


def chat_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """A branch (root first) as the chat template receives it, tool turns included."""
    names = call_names(messages)
    return [chat_message(m, names) for m in messages if _sendable(m)]


def store_tool_result(store: Store, conversation_id: str, message: dict[str, Any]) -> Message:
    """Append one ``tool`` message (a call's result) under the conversation's active leaf."""
    return store.append_message(
        conversation_id,
        "tool",
        str(message.get("content") or ""),
        tool_call_id=message.get("tool_call_id"),
    )
