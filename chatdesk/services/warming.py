"""Warming the open conversation before Send, so switching back to it costs nothing.

When the window opens a conversation, and again while the user types (debounced), it
calls ``warm_conversation``: the request the next turn would send (the same code and
request hooks, the blocking ones left out) ends with the draft's settled words (the whole
draft, closed and followed by the assistant's opening, when it ends a sentence), and the
engine fills its KV cache with that prompt in the background (restoring the conversation's
kept state, or reading its history again where none was kept: a changed system prompt, an
evicted state). Send then evaluates only the last words and the template's closing tokens
(nothing after a finished sentence: the host kept the logits of the warmed prompt's end).
The window also warms as soon as a reply ends, ``chatdesk chat`` while it waits for the
next line, and the API server as each chat reply ends (``chatdesk.api.app.warm_next_turn``):
where the next turn must leave older messages out (a chat longer than the context), its
cut's read of the kept history then happens while the user reads, not after
Send. Warms go to the loaded model's engine itself (``EngineSession.warmer``), also while
the API server runs and the window's replies take its lane. Engines that cannot warm
(remote servers) are simply not asked; a warm is a hint that any real request cancels, and
what it read in whole batches stays for that request.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from chatdesk.engine.request import ChatRequest, Message

if TYPE_CHECKING:
    from chatdesk.services.turns import TurnService


def settled(draft: str) -> str:
    """The words of a draft the user has finished typing (up to its last whitespace): a
    half-typed word is not warmed, so Send never meets it split into other tokens."""
    cut = max(draft.rfind(" "), draft.rfind("\n"))
    return draft[:cut].rstrip() if cut > 0 else ""


SENTENCE_ENDS = tuple(".?!:;)]}\"'`")


def ends_sentence(draft: str) -> bool:
    """The draft ends a sentence (``?``, ``.``, a closing bracket or quote...): likely sent
    as it is, and its last token is one BPE does not merge with what may follow."""
    return draft.rstrip().endswith(SENTENCE_ENDS)


def warm_conversation(
    turns: TurnService, conversation_id: str, draft: str = ""
) -> Future[dict[str, Any]] | None:
    """Ask the engine to warm ``conversation_id`` (and ``draft``'s settled words); None
    where it cannot (no model, a reply streaming, an engine that does not warm)."""
    engine = turns.engines.warmer if turns.engines.ready else None
    if turns.streaming or engine is None:
        return None
    path = turns.store.active_path(conversation_id)
    warm = warm_request(turns.request_for(conversation_id, path, blocking=False).chat, draft)
    return engine.warm(warm) if warm is not None else None


def warm_request(chat: ChatRequest, draft: str) -> ChatRequest | None:
    """What to warm for the conversation ``chat`` (its next turn's request without the new
    message) with ``draft`` typed: after a finished sentence the whole prompt as Send would
    send it (Send then evaluates nothing), else the settled words alone (the host cuts
    after them). None: nothing to warm (a new conversation, nothing typed)."""
    whole = ends_sentence(draft)
    words = draft.rstrip() if whole else settled(draft)
    if not words:
        return chat if chat.messages else None
    message = Message.of("user", words)
    return dataclasses.replace(
        chat, messages=(*chat.messages, message), add_generation_prompt=whole
    )
