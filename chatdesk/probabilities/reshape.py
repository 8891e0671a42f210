"""What temperature, top-k, top-p and min-p do to one token's distribution (the explorer).

The input is the model's own top N alternatives of a generated token, as stored with the
reply (their probabilities are the softmax of the full vocabulary, so they sum to at most
1; the rest of the vocabulary holds ``1 - sum``). The settings are applied in the order of
the engine's sampler chain (``engine.host.sampling``): top-k, top-p, min-p, temperature:

- top-k keeps the k most probable (k = 0: all);
- top-p keeps the most probable tokens until their probability (renormalised over what
  top-k kept) reaches p, the token that crosses p included (p = 1: all);
- min-p keeps tokens at least ``min_p`` times as probable as the favourite;
- temperature divides the log-probabilities by T (T = 0: the favourite takes everything)
  and the survivors are renormalised.

Only the stored N tokens are known, so the result is renormalised over the survivors
among them. It is exact when the settings cut the rest of the vocabulary away anyway
(top-k <= N, top-p reached within the N, min-p above the N-th probability, or T = 0);
otherwise tokens beyond the N would still get some share, which the explorer cannot show,
and ``exact`` is False (``outside`` says how much probability lay beyond the N at T = 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chatdesk.engine.types import Alternative


@dataclass(frozen=True)
class Shaping:
    """Sampler settings to apply (the same meaning as ``SamplingSettings``)."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    min_p: float = 0.0


@dataclass(frozen=True)
class Reshaped:
    """The distribution after shaping, aligned with the input alternatives."""

    probabilities: tuple[float, ...]  # 0 for tokens the settings cut
    exact: bool  # True when no token beyond the stored N could have survived
    outside: float  # probability beyond the stored N, as the model computed it


def reshape(alternatives: Sequence[Alternative], shaping: Shaping) -> Reshaped:
    """Apply ``shaping`` to stored alternatives (most probable first)."""
    probabilities = [max(a.probability, 0.0) for a in alternatives]
    outside = max(0.0, 1.0 - sum(probabilities))
    if not probabilities or probabilities[0] <= 0:
        return Reshaped(tuple(0.0 for _ in probabilities), False, outside)
    kept, tail_cut = _truncate(probabilities, shaping, outside)
    shaped = _temperature(probabilities, kept, shaping.temperature)
    exact = tail_cut or shaping.temperature <= 0 or outside <= 0
    return Reshaped(tuple(shaped), exact, outside)


def _truncate(probabilities: list[float], shaping: Shaping, outside: float) -> tuple[int, bool]:
    """How many of the (sorted) tokens survive top-k, top-p and min-p, and whether the
    rest of the vocabulary is certainly cut too."""
    count = len(probabilities)
    kept, tail_cut = count, False
    if 0 < shaping.top_k <= count:
        kept, tail_cut = shaping.top_k, True
    if 0 < shaping.top_p < 1:
        mass = sum(probabilities[:kept]) + (0.0 if tail_cut else outside)
        running = 0.0
        for index in range(kept):
            running += probabilities[index] / mass
            if running >= shaping.top_p:
                kept, tail_cut = index + 1, True
                break
    if shaping.min_p > 0:
        floor = shaping.min_p * probabilities[0]
        survivors = sum(1 for p in probabilities[:kept] if p >= floor)
        kept = max(1, survivors)
        tail_cut = tail_cut or probabilities[-1] < floor
    return kept, tail_cut


def _temperature(probabilities: list[float], kept: int, temperature: float) -> list[float]:
    """Softmax of log(p) / T over the first ``kept`` tokens; zeros after them."""
    if temperature <= 0:
        return [1.0 if index == 0 else 0.0 for index in range(len(probabilities))]
    logs = [math.log(p) / temperature if p > 0 else -math.inf for p in probabilities[:kept]]
    top = max(logs)
    weights = [math.exp(value - top) for value in logs]
    total = sum(weights)
    return [w / total for w in weights] + [0.0] * (len(probabilities) - kept)
