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
from chatdesk.engine.host.speculative import Speculator
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
    drafted: int = 0  # tokens drafted by speculative decoding and verified
    accepted: int = 0  # of those, how many were kept


@dataclass
class _Reply:
    """One reply's loop state: what each sampled token goes through, and where it ends."""

    model: LoadedModel
    chain: SamplerChain
    text: StreamingText
    on_text: Callable[[str], None]
    limit: int | None
    stop_at_eog: bool
    probe: ProbabilityProbe | None
    speculator: Speculator | None
    position: int
    draw: Callable[[], int] | None = None  # a constrained reply's grammar-checked sampler
    outcome: DecodeOutcome = field(default_factory=DecodeOutcome)

    def sample(self, index: int = -1) -> int:
        """The next token from the logits of batch entry ``index``."""
        if self.probe is not None:
            return self.probe.sample(index)
        if self.draw is not None:  # never with a speculator (see decode_reply)
            return self.draw()
        return self.model.sample(self.chain, index)

    def finishes(self, token: int) -> bool:
        """Hand on a sampled token; True when the reply ends with it (it is not evaluated)."""
        outcome = self.outcome
        if self.stop_at_eog and self.model.is_eog(token):
            outcome.finish_reason = "stop"
            return True
        outcome.generated += 1
        piece = self.text.push(self.model.piece(token))
        if self.probe is not None:  # before the text, which they go out with
            self.probe.report(token, self.text.through)
            self.probe.release(self.text.settled)
        if piece:
            self.on_text(piece)
        if self.text.stopped:
            outcome.finish_reason = "stop"
            return True
        if self.room() <= 0:
            outcome.finish_reason = "length"
            return True
        if self.speculator is not None:
            self.speculator.append(token)
        return False

    def room(self) -> int:
        """Tokens that may still follow the one just handed on (length and context)."""
        left = self.model.n_ctx - self.position
        if self.limit is not None:
            left = min(left, self.limit - self.outcome.generated)
        return left

    def kept(self, token: int) -> None:
        """``token`` is now in the KV cache at the current position."""
        self.outcome.evaluated.append(token)
        self.position += 1


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
    speculator: Speculator | None = None,
) -> DecodeOutcome:
    """Generate from the current logits; ``position`` is the next free KV position.

    With a ``probe`` (token probabilities asked for) it samples and reports each token; a
    ``draw`` (a constrained reply's ``GrammarSampler``) samples instead of the chain alone;
    with a ``speculator`` it drafts tokens and verifies them in one batch where that pays.
    A grammar and drafting do not mix (the grammar's state follows each accepted token one
    at a time), so a ``draw`` turns drafting off.
    """
    limit = max_tokens if max_tokens is not None and max_tokens > 0 else None
    if draw is not None:
        speculator = None
    reply = _Reply(
        model, chain, text, on_text, limit, stop_at_eog, probe, speculator, position, draw
    )
    outcome = reply.outcome
    if cancel.is_set():
        outcome.finish_reason = "cancelled"
        outcome.ended_at = time.perf_counter()
        return outcome
    token = reply.sample()
    outcome.first_token_at = time.perf_counter()
    try:
        while not reply.finishes(token):
            if cancel.is_set():
                outcome.finish_reason = "cancelled"
                break
            step = _step(reply, token)
            if step is None:
                break
            token = step
    except DecodeFailed as error:
        outcome.finish_reason = "length" if error.context_full else "error"
        outcome.error = None if error.context_full else str(error)
    if speculator is not None:
        outcome.drafted = speculator.policy.drafted
        outcome.accepted = speculator.policy.accepted
    tail = text.finish()
    if probe is not None:
        probe.release(text.settled)
    if tail:
        on_text(tail)
    outcome.ended_at = time.perf_counter()
    return outcome


def _step(reply: _Reply, token: int) -> int | None:
    """Evaluate ``token`` (and any drafts after it); the next token to hand on, or None
    when the reply ended inside a verified draft."""
    speculator = reply.speculator
    drafts = []
    if speculator is not None and reply.model.batches_may_be_exact:  # threads can change
        drafts = speculator.propose(reply.room() - 1, reply.position)
    started = time.perf_counter()
    if not drafts:
        reply.model.evaluate_one(token, reply.position)
        reply.kept(token)
        if speculator is not None:
            speculator.record_single(time.perf_counter() - started)
        return reply.sample()
    return _verify(reply, token, drafts, started)


def _verify(reply: _Reply, token: int, drafts: list[int], started: float) -> int | None:
    """Evaluate ``token`` and ``drafts`` in one batch; keep drafts while each equals the
    token sampled at its position (see ``speculative``); drop the rest from the KV cache."""
    model, speculator = reply.model, reply.speculator
    assert speculator is not None
    model.evaluate_all([token, *drafts], reply.position)
    seconds = time.perf_counter() - started
    reply.kept(token)
    accepted, following, ended = 0, None, False
    for index, draft in enumerate(drafts):
        sampled = reply.sample(index)
        if sampled != draft:
            following = sampled
            break
        accepted += 1
        if reply.finishes(sampled):
            ended = True
            break
        reply.kept(sampled)
    else:
        following = reply.sample(len(drafts))
    model.go_back(reply.position)  # the rejected drafts (and an ending token) go
    speculator.record(len(drafts), accepted, seconds)
    return None if ended else following
