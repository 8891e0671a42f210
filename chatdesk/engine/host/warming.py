"""Warming a conversation's KV cache before its next turn, while the user reads and types.

Switching back to a long conversation should cost what a new one-line conversation costs.
Restoring its saved state is cheap; what is not is evaluating the new line after thousands
of cached tokens (every new token attends to the whole history), and, where no state was
kept (a changed system prompt, a state evicted or never saved), reading the history again.
Both can happen before the user presses Send: the window asks the host to ``warm`` the
conversation when it is opened, and again with the words typed so far while the user
types. The host then makes the KV cache hold the conversation's prompt (its history, the
template's opening of the user's turn and the draft's settled words; the end of the turn and
the assistant's opening only when the draft ends a sentence, see
``chatdesk.services.warming``), exactly as the next turn's prompt starts, so Send evaluates
only the last words and the template's closing tokens, or just the last token. A warm is a
hint: any other request cancels it (the host stops within a batch), and what it evaluated
stays valid for the prompt it shares a prefix with. When the cached tokens spell the whole
prompt (a warmed finished sentence), the prompt cache keeps them all (``_plan``), even
where they are not the canonical tokens (a reply re-tokenized), and evaluates the last one.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import TYPE_CHECKING, Any

from chatdesk.engine.context_fit import reply_budget
from chatdesk.engine.host.model import DecodeCancelled
from chatdesk.engine.host.prompting import PromptError, PromptPiece, cut_after_reply
from chatdesk.engine.request import ChatRequest

if TYPE_CHECKING:
    from chatdesk.engine.host.engine import Engine


def warm_pieces(engine: Engine, request: ChatRequest, cancel: threading.Event) -> list[PromptPiece]:
    """The prompt a warm evaluates. A request ending with the user's draft and asking for
    the generation prompt: the whole prompt Send would evaluate (a finished sentence); ending
    with the draft and not asking for it: cut after the draft's words; otherwise the
    conversation without the assistant's opening."""
    from chatdesk.engine.host.engine import prompt_inputs

    model = engine._require_model()
    budget = reply_budget(request.sampling.max_tokens, model.n_ctx)
    native = engine.capabilities.tools == "native"
    last = request.messages[-1] if request.messages else None
    draft = last.text if last is not None and last.role == "user" else ""
    whole = bool(draft.strip()) and request.add_generation_prompt
    inputs = dataclasses.replace(prompt_inputs(request, native), add_generation_prompt=whole)
    _fit, pieces = engine._prompt_for(inputs, budget, False, cancel)
    if draft.strip() and not whole:
        pieces = cut_after_reply(pieces, draft)
    return pieces


def warm(engine: Engine, request: ChatRequest, cancel: threading.Event) -> dict[str, Any]:
    """Make the KV cache hold ``request``'s prompt so far; what it took (``evaluated``,
    ``kv_source``, ``seconds``; ``cancelled`` when another request came first)."""
    from chatdesk.engine.host.engine import EngineFailure

    started = time.perf_counter()
    nothing = {"evaluated": 0, "kv_source": "none", "cancelled": False, "seconds": 0.0}
    try:
        pieces = warm_pieces(engine, request, cancel)
    except PromptError:  # a template that does not repeat the draft: nothing to warm
        return nothing
    except EngineFailure:
        if not cancel.is_set():  # the turn itself will say what is wrong with it
            raise
        return {**nothing, "cancelled": True}  # stopped while the template rendered
    cache, prompts = engine._require_cache(), engine._require_prompts()
    canonical = prompts.tokenize(pieces)
    text = "".join(piece.text for piece in pieces)
    result: dict[str, Any] = {"prompt_tokens": len(canonical), "cancelled": False}
    if not canonical or cancel.is_set():
        return {**result, "evaluated": 0, "kv_source": "none", "cancelled": cancel.is_set()}
    plan = cache.prepare(
        request.conversation_key, text, canonical, lambda skip: prompts.tokenize(pieces, skip)
    )
    result.update(evaluated=len(plan.tokens) - plan.keep, kv_source=plan.source)
    try:
        engine._evaluate_prompt(plan, cancel)
    except DecodeCancelled:
        result.update(cancelled=True)
    return {**result, "seconds": time.perf_counter() - started}
