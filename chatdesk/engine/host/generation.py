"""The token loop of one reply: sample, detokenise, stream, stop.

Per token: sample from the last logits, stop at an end-of-generation token, turn the token
into text through ``StreamingText`` (whole characters, stop strings held back), hand the
text on, stop at ``max_tokens`` exactly or when the context is full, otherwise evaluate the
token and go on. Cancellation is checked between tokens, so a cancel stops the reply within
one token and everything produced so far is kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chatdesk.engine.host.detokenize import StreamingText
from chatdesk.engine.host.model import DecodeFailed, LoadedModel
from chatdesk.engine.host.probabilities import ProbabilityProbe
from chatdesk.engine.host.sampling import SamplerChain
from chatdesk.engine.types import FinishReason


@dataclass
class DecodeOutcome:
    """How the token loop ended."""

    finish_reason: FinishReason = "stop"
    generated: int = 0
    first_token_at: float | None = None
    ended_at: float = 0.0
    evaluated: list[int] = field(default_factory=list)  # generated tokens now in the KV cache
    error: str | None = None


def decode_reply(
    model: LoadedModel,
    chain: SamplerChain,
    text: StreamingText,
    *,
    position: int,
    max_tokens: int | None,
    cancel: threading.Event,
    on_text: Callable[[str], None],
    stop_at_eog: bool = True,
    probe: ProbabilityProbe | None = None,
    draw: Callable[[], int] | None = None,
) -> DecodeOutcome:
    """Generate from the current logits; ``position`` is the next free KV position.

    With a ``probe`` (token probabilities asked for) it samples and reports each token; a
    ``draw`` (a constrained reply's ``GrammarSampler``) samples instead of the chain alone.
    """
    outcome = DecodeOutcome()
    limit = max_tokens if max_tokens is not None and max_tokens > 0 else None
    n_ctx = model.n_ctx
    while True:
        if cancel.is_set():
            outcome.finish_reason = "cancelled"
            break
        if probe is not None:
            token = probe.sample()
        else:
            token = draw() if draw is not None else model.sample(chain)
        if outcome.first_token_at is None:
            outcome.first_token_at = time.perf_counter()
        if stop_at_eog and model.is_eog(token):
            outcome.finish_reason = "stop"
            break
        outcome.generated += 1
        if probe is not None:
            probe.report(token)
        piece = text.push(model.piece(token))
        if piece:
            on_text(piece)
        if text.stopped:
            outcome.finish_reason = "stop"
            break
        if (limit is not None and outcome.generated >= limit) or position >= n_ctx:
            outcome.finish_reason = "length"
            break
        try:
            model.evaluate_one(token, position)
        except DecodeFailed as error:
            outcome.finish_reason = "length" if error.context_full else "error"
            outcome.error = None if error.context_full else str(error)
            break
        outcome.evaluated.append(token)
        position += 1
    tail = text.finish()
    if tail:
        on_text(tail)
    outcome.ended_at = time.perf_counter()
    return outcome
