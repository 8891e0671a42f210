"""Everything one reply has, as one JSON-ready object (``chatdesk ask --json``).

Whichever features made the reply, the object carries what they left, read back from the
stored rows and from the request the engine was sent (``Turn.request.chat``), so a script
sees what the window shows:

- ``text`` (the answer, without a leading ``<think>`` block), ``reasoning`` (that block's
  text, "" when the model gave none), ``finish_reason``, ``status``, ``error``, ``model``
  and ``stats`` (the stored figures);
- ``sources``: every document passage the reply was given, with ``file``, ``page`` or
  ``line_start``/``line_end``, a readable ``label``, the passage ``text``, its ``score`` and
  whether the reply ``cited`` it; ``documents_error`` when the documents could not be used;
- ``tool_calls``: every call the turn's steps made, in order, each with its ``arguments``
  and the ``result`` the model got back (None when it never ran);
- ``tokens``: the token probabilities stored with the reply (``probabilities.codec``
  format), when they were kept;
- ``response_format``: the format the reply was held to (``type``, ``name``, ``schema``),
  None for plain text; ``tools_offered``: the names of the tools the model could call.

Keys are always present (empty or None when a feature played no part), so a script never
has to guess which features ran.
"""

from __future__ import annotations

import re
from typing import Any

from chatdesk.docs.citations import cited
from chatdesk.docs.records import Passage
from chatdesk.engine.request import ResponseFormat
from chatdesk.probabilities.codec import to_json
from chatdesk.services.documents_turn import ERROR_KEY
from chatdesk.services.turns import Turn
from chatdesk.store import Message, Store

THINK = re.compile(r"\A\s*<think>(.*?)</think>\s*", re.DOTALL)


def split_reasoning(text: str) -> tuple[str, str]:
    """(reasoning, answer): a leading ``<think>...</think>`` block apart from the answer."""
    match = THINK.match(text)
    if match is None:
        return "", text
    return match.group(1).strip(), text[match.end() :]


def reply_summary(store: Store, turn: Turn) -> dict[str, Any]:
    """The whole reply of a finished turn (see the module docstring)."""
    reasoning, answer = split_reasoning(turn.text)
    choices = store.token_probabilities(turn.message_id)
    chat = turn.request.chat
    return {
        "conversation_id": turn.conversation_id,
        "message_id": turn.message_id,
        "text": answer,
        "reasoning": reasoning,
        "finish_reason": turn.stats.get("finish_reason"),
        "status": turn.status,
        "error": turn.error,
        "model": turn.model,
        "stats": dict(turn.stats),
        "sources": sources(store, turn),
        "documents_error": turn.request.extras.get(ERROR_KEY),
        "tool_calls": tool_calls(store.path_to(turn.message_id)),
        "tools_offered": [tool.name for tool in chat.tools],
        "tokens": to_json(choices) if choices else None,
        "response_format": format_json(chat.response_format),
    }


def sources(store: Store, turn: Turn) -> list[dict[str, Any]]:
    """The passages the reply was given, each saying where it is from and if it was cited."""
    given = [Passage.from_dict(p) for p in store.passages(turn.message_id)]
    numbers = {p.number for p in cited(turn.text, given)}
    return [{**p.to_dict(), "label": p.label, "cited": p.number in numbers} for p in given]


def tool_calls(path: list[Message]) -> list[dict[str, Any]]:
    """The calls made after the turn's question (the last user message), with results."""
    asked = max((i for i, m in enumerate(path) if m.role == "user"), default=-1)
    steps = path[asked + 1 :]
    results = {m.tool_call_id: m.content for m in steps if m.role == "tool"}
    calls = [call for m in steps for call in m.tool_calls or []]
    return [call_json(call, results) for call in calls]


def call_json(call: dict[str, Any], results: dict[str | None, str]) -> dict[str, Any]:
    """One stored call (OpenAI shape) as the summary gives it."""
    function = call.get("function") or {}
    return {
        "id": call.get("id"),
        "name": function.get("name"),
        "arguments": function.get("arguments"),
        "result": results.get(call.get("id")),
    }


def format_json(response_format: ResponseFormat | None) -> dict[str, Any] | None:
    """The response format as JSON (None for plain text)."""
    if response_format is None or response_format.type == "text":
        return None
    return {
        "type": response_format.type,
        "name": response_format.name,
        "schema": response_format.schema_dict,
    }
