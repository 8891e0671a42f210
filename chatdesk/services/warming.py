"""Warming the open conversation before Send, so switching back to it costs nothing.

When the window opens a conversation, and again while the user types (debounced), it
calls ``warm_conversation``: the request the next turn would send (the same code and
request hooks, the blocking ones left out) ends with the draft's settled words, and the
engine fills its KV cache with that prompt in the background (restoring the conversation's
kept state, or reading its history again where none was kept: a changed system prompt, an
evicted state). Send then evaluates only the last words and the template's closing tokens.
Engines that cannot warm (remote servers, the API server's lane) are simply not asked;
a warm is a hint that any real request cancels.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from chatdesk.engine.interface import WarmsConversations
from chatdesk.engine.request import Message

if TYPE_CHECKING:
    from chatdesk.services.turns import TurnService


def settled(draft: str) -> str:
    """The words of a draft the user has finished typing (up to its last whitespace): a
    half-typed word is not warmed, so Send never meets it split into other tokens."""
    cut = max(draft.rfind(" "), draft.rfind("\n"))
    return draft[:cut].rstrip() if cut > 0 else ""


def warm_conversation(
    turns: TurnService, conversation_id: str, draft: str = ""
) -> Future[dict[str, Any]] | None:
    """Ask the engine to warm ``conversation_id`` (and ``draft``'s settled words); None
    where it cannot (no model, a reply streaming, an engine that does not warm)."""
    engine = turns.engines.engine
    if turns.streaming or not turns.engines.ready or not isinstance(engine, WarmsConversations):
        return None
    path = turns.store.active_path(conversation_id)
    chat = turns.request_for(conversation_id, path, blocking=False).chat
    words = settled(draft)
    if words:
        chat = dataclasses.replace(chat, messages=(*chat.messages, Message.of("user", words)))
    elif not chat.messages:
        return None  # a new conversation: nothing to read ahead but the system prompt
    return engine.warm(chat)
