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

from chatdesk.engine.types import TokenChoice
from chatdesk.export.wording import shared_model_name
from chatdesk.probabilities.codec import to_json
from chatdesk.store import Conversation, Message, Store

FORMAT = "chatdesk-conversations"
VERSION = 1


def message_record(
    message: Message, probabilities: list[TokenChoice] | None = None
) -> dict[str, Any]:
    """One message as exported (its conversation is implied by where it is listed), with
    its token probabilities when given (the export's optional extra); the tool keys appear
    only on messages that have them, so older exports stay identical."""
    m = message
    tools: dict[str, Any] = {}
    if m.tool_calls is not None:
        tools["tool_calls"] = m.tool_calls
    if m.tool_call_id is not None:
        tools["tool_call_id"] = m.tool_call_id
    record: dict[str, Any] = {
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
        **tools,
    }
    if m.drafted_tokens is not None:  # speculative decoding's figures, when it ran
        record["drafted_tokens"] = m.drafted_tokens
        record["accepted_tokens"] = m.accepted_tokens
    if probabilities is not None:
        record["token_probabilities"] = to_json(probabilities)
    return record


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


def with_passages(record: dict[str, Any], passages: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A message record with its document passages, when it has any (key left out if not)."""
    return {**record, "passages": passages} if passages else record


def conversation_record(
    conversation: Conversation,
    messages: list[Message],
    probabilities: dict[str, list[TokenChoice]] | None = None,
    passages: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """One conversation with its whole message tree, in creation order; its few-shot
    ``examples`` when it has any, the given replies' token probabilities and the document
    passages replies were given."""
    cited = passages or {}
    c = conversation
    kept = probabilities or {}
    record: dict[str, Any] = {
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
    }
    if c.examples:
        record["examples"] = c.examples
    record["messages"] = [
        with_passages(message_record(m, kept.get(m.id)), cited.get(m.id))
        for m in parents_first(messages)
    ]
    return record


def kept_probabilities(store: Store, messages: list[Message]) -> dict[str, list[TokenChoice]]:
    """The token probabilities kept for any of these messages, by message id."""
    found = store.has_token_probabilities([m.id for m in messages])
    kept = {mid: store.token_probabilities(mid) for mid in sorted(found)}
    return {mid: choices for mid, choices in kept.items() if choices is not None}


def document(records: Iterable[dict[str, Any]]) -> str:
    """The JSON text of an export file holding these conversation records."""
    data = {"format": FORMAT, "version": VERSION, "conversations": list(records)}
    return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def stored_record(store: Store, cid: str, probabilities: bool = False) -> dict[str, Any]:
    """One stored conversation's record (with token probabilities when asked)."""
    messages = store.messages(cid)
    kept = kept_probabilities(store, messages) if probabilities else None
    passages = store.conversation_passages(cid)
    return conversation_record(store.get_conversation(cid), messages, kept, passages)


def export_json(store: Store, cids: Iterable[str], probabilities: bool = False) -> str:
    """An export file with the given conversations, in that order."""
    return document(stored_record(store, c, probabilities) for c in cids)
