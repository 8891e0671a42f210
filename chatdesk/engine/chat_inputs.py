"""What a chat template is given: messages and tools prepared as transformers prepares them.

Hugging Face transformers' ``apply_chat_template`` does not hand a conversation to the
template as it was given. It first turns message objects (dataclasses, pydantic models
such as the OpenAI SDK's) into dicts, then drops every key whose value is None (APIs send
``content: None`` next to ``tool_calls``, and ``tool_calls: None``; many templates would
print "None" or crash on them but handle a missing key). After the sandbox copy it
aliases a message's reasoning under the three names templates read (``reasoning_content``,
``thinking`` for gpt-oss, ``reasoning``). Tools must be JSON-schema dicts.

``templates.render_chat`` applies these steps, in this order, so its output equals
``apply_chat_template(..., tools=tools, tokenize=False)``; they live here so the sandbox
module stays about the sandbox.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")


def to_dicts(value: Any) -> Any:
    """Dataclasses and pydantic models (anything with ``model_dump``) as dicts, at any depth;
    everything else as it is."""
    if isinstance(value, Mapping):
        return {key: to_dicts(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_dicts(item) for item in value]
    if isinstance(value, tuple):
        return tuple(to_dicts(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_dicts(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if callable(getattr(value, "model_dump", None)):
        return to_dicts(value.model_dump())
    return value


def normalize_messages(messages: Any) -> list[dict[str, Any]]:
    """Messages as dicts without the keys whose value is None (top level only, as
    transformers does); TypeError for a message that is not a dict."""
    normalized = []
    for message in to_dicts(list(messages)):
        if not isinstance(message, dict):
            raise TypeError(f"chat messages must be dicts, got {type(message).__name__}")
        normalized.append({key: value for key, value in message.items() if value is not None})
    return normalized


def alias_reasoning(message: Any) -> Any:
    """A message's reasoning under every name templates read (the first name set wins)."""
    if not isinstance(message, dict):
        return message
    reasoning = next((message[k] for k in REASONING_FIELDS if message.get(k) is not None), None)
    if reasoning is None:
        return message
    return {"thinking": reasoning, **message, "reasoning_content": reasoning}


def check_tools(tools: Any) -> list[Any] | None:
    """The tool list as given (None stays None); TypeError when a tool is not a dict."""
    if tools is None:
        return None
    checked = list(tools)
    for tool in checked:
        if not isinstance(tool, Mapping):
            raise TypeError(f"tools must be JSON-schema dicts, got {type(tool).__name__}")
    return checked
