"""The lossless JSON export: every conversation field and the whole message tree.

The README's "JSON export format" section documents it. Output is deterministic (fixed
key order, two-space indent, UTF-8 kept, newline at the end), so export -> import ->
export gives the same bytes. Lossless for the conversation itself; a local model's full
path is the one thing left out (its file name is kept): a shared file must not carry the
user's folders.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable
from typing import Any

from chatdesk.export.wording import shared_model_name
from chatdesk.store import Conversation, Message, Store

FORMAT = "chatdesk-conversations"
VERSION = 1


def message_record(message: Message) -> dict[str, Any]:
    """One message as exported (its conversation is implied by where it is listed)."""
    m = message
    return {
        "id": m.id,
        "parent_id": m.parent_id,
        "role": m.role,
        "content": m.content,
        "status": m.status,
        "created_at": m.created_at,
        "model": shared_model_name(m.model),
        "settings": m.settings,
        "prompt_tokens": m.prompt_tokens,
        "completion_tokens": m.completion_tokens,
        "time_to_first_token_ms": m.time_to_first_token_ms,
        "tokens_per_second": m.tokens_per_second,
        "finish_reason": m.finish_reason,
        "n_ctx": m.n_ctx,
        "dropped_messages": m.dropped_messages,
        "error": m.error,
        "extra": m.extra,
        "model_identity": m.model_identity,
    }


def parents_first(messages: list[Message]) -> list[Message]:
    """Messages in their given order, except that a parent always precedes its children."""
    position = {m.id: n for n, m in enumerate(messages)}
    children: dict[str | None, list[int]] = {}
    for n, m in enumerate(messages):
        parent = m.parent_id if m.parent_id in position else None
        children.setdefault(parent, []).append(n)
    ready = list(children.get(None, []))
    heapq.heapify(ready)
    ordered = []
    while ready:
        n = heapq.heappop(ready)
        ordered.append(messages[n])
        for child in children.get(messages[n].id, []):
            heapq.heappush(ready, child)
    return ordered


def conversation_record(conversation: Conversation, messages: list[Message]) -> dict[str, Any]:
    """One conversation with its whole message tree, in creation order."""
    c = conversation
    return {
        "id": c.id,
        "title": c.title,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "model": shared_model_name(c.model),
        "system_prompt": c.system_prompt,
        "settings": c.settings,
        "pinned": c.pinned,
        "active_leaf_id": c.active_leaf_id,
        "model_identity": c.model_identity,
        "messages": [message_record(m) for m in parents_first(messages)],
    }


def document(records: Iterable[dict[str, Any]]) -> str:
    """The JSON text of an export file holding these conversation records."""
    data = {"format": FORMAT, "version": VERSION, "conversations": list(records)}
    return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def export_json(store: Store, cids: Iterable[str]) -> str:
    """An export file with the given conversations, in that order."""
    return document(conversation_record(store.get_conversation(c), store.messages(c)) for c in cids)
