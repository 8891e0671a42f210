"""Tests' shorthand for the engine's request: ``chat(messages, system_prompt=..., ...)``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chatdesk.engine.request import ChatRequest, Message, ToolSpec


def chat(messages: Sequence[Mapping[str, Any]], **fields: Any) -> ChatRequest:
    """A ``ChatRequest`` from chat dicts; ``sampling=None`` means the defaults, and
    ``tools`` may be OpenAI-style dicts."""
    if fields.get("sampling") is None:
        fields.pop("sampling", None)
    tools = fields.pop("tools", None) or ()
    specs = tuple(t if isinstance(t, ToolSpec) else ToolSpec.from_openai(t) for t in tools)
    return ChatRequest.of(messages, tools=specs, **fields)


def short_turns(messages: int) -> list[Message]:
    """A long chat of short messages ("turn N: a short remark."), user and assistant in
    turn: the history of tests of chats longer than the context."""
    return [
        Message.of("user" if i % 2 == 0 else "assistant", f"turn {i}: a short remark.")
        for i in range(messages)
    ]


def numbered_turns(turns: int) -> list[dict[str, str]]:
    """A chat history of ``turns`` short numbered questions and replies, as dicts."""
    history = []
    for index in range(turns):
        history.append({"role": "user", "content": f"Message number {index} about the sea."})
        history.append({"role": "assistant", "content": f"Reply number {index} about stars."})
    return history
