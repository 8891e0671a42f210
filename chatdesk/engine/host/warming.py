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
where they are not the canonical tokens (a reply re-tokenized). A warm evaluates the
prompt's last token on its own, so the context then holds exactly the logits Send would
compute for it: Send evaluates nothing and samples at once (``LoadedModel.logits_at``).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import TYPE_CHECKING, Any

from chatdesk.engine import protocol
from chatdesk.engine.context_fit import reply_budget
from chatdesk.engine.host.model import DecodeCancelled
from chatdesk.engine.host.prompt_cache import PreparedPrompt
from chatdesk.engine.host.prompting import PromptError, PromptPiece, cut_after_reply
from chatdesk.engine.request import ChatRequest

if TYPE_CHECKING:
    from chatdesk.engine.host.engine import Engine


def draft_of(request: ChatRequest) -> str:
    """The user's draft a warm request ends with ("" when it ends otherwise)."""
    last = request.messages[-1] if request.messages else None
    return last.text if last is not None and last.role == "user" else ""


def is_whole(request: ChatRequest) -> bool:
    """Whether the warm evaluates the very prompt Send will send (a finished sentence)."""
    return bool(draft_of(request).strip()) and request.add_generation_prompt


def warm_pieces(engine: Engine, request: ChatRequest, cancel: threading.Event) -> list[PromptPiece]:
    """The prompt a warm evaluates. A request ending with the user's draft and asking for
    the generation prompt: the whole prompt Send would evaluate (a finished sentence); ending
    with the draft and not asking for it: cut after the draft's words; otherwise the
    conversation without the assistant's opening."""
    from chatdesk.engine.host.engine import prompt_inputs

    model = engine._require_model()
    budget = reply_budget(request.sampling.max_tokens, model.n_ctx)
    native = engine.capabilities.tools == "native"
    draft, whole = draft_of(request), is_whole(request)
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
    try:
        pieces = warm_pieces(engine, request, cancel)
    except PromptError:  # a template that does not repeat the draft: nothing to warm
        return protocol.nothing_warmed(cancelled=False)
    except EngineFailure:
        if not cancel.is_set():  # the turn itself will say what is wrong with it
            raise
        return protocol.nothing_warmed(cancelled=True)  # stopped while the template rendered
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
        if is_whole(request):
            evaluate_to_the_end(engine, plan, cancel)
        else:
            engine._evaluate_prompt(plan, cancel, checkpoint=False)
    except DecodeCancelled:
        result.update(cancelled=True)
    return {**result, "seconds": time.perf_counter() - started}


def evaluate_to_the_end(engine: Engine, plan: PreparedPrompt, cancel: threading.Event) -> None:
    """Evaluate the plan's new tokens, the last one alone: its logits are then exactly the
    ones Send would compute by evaluating it again, so Send keeps them (``logits_at``) and
    evaluates nothing, with the same reply token for token."""
    last = len(plan.tokens) - 1
    if plan.keep < last:
        head = dataclasses.replace(plan, tokens=plan.tokens[:last])
        engine._evaluate_prompt(head, cancel, checkpoint=False)
    if plan.keep <= last:
        engine._evaluate_prompt(dataclasses.replace(plan, keep=last), cancel, checkpoint=False)
