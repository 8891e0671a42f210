"""Token probabilities in a chat turn: collecting them, and branching from an alternative.

``ProbabilityCollector`` is an engine event callback that keeps the ``TokenChoice``s of a
reply as they arrive (any ``ReplyHandle``; the turn service stores them with the reply
when it ends). ``branch_from`` turns "continue from this alternative instead" into the
new branch's reply prefix (the reply's tokens before the chosen position, then the
alternative) and the probabilities that go with that prefix, so the new branch's token
view starts with the tokens it shares with the original reply.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from chatdesk.engine.types import Alternative, ReplyEvent, TokenChoice, TokenProbabilities


class ProbabilityCollector:
    """Collects a reply's token probabilities (called on the engine's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._choices: list[TokenChoice] = []

    def __call__(self, event: ReplyEvent) -> None:
        if isinstance(event, TokenProbabilities):
            with self._lock:
                self._choices.extend(event.tokens)

    @property
    def choices(self) -> list[TokenChoice]:
        """The tokens' probabilities so far, in order."""
        with self._lock:
            return list(self._choices)


@dataclass(frozen=True)
class Branch:
    """What a branch from an alternative starts with."""

    prefix: str  # the new reply's text so far (the model continues from it)
    choices: list[TokenChoice]  # the probabilities of the prefix's tokens


def branch_from(choices: list[TokenChoice], index: int, alternative: Alternative) -> Branch:
    """The branch that takes ``alternative`` instead of the token at ``index``."""
    if not 0 <= index < len(choices):
        raise ValueError(f"no token {index + 1} in this reply ({len(choices)} tokens)")
    original = choices[index]
    sampled = next((a for a in original.sampled_top if a.token == alternative.token), None)
    swapped = TokenChoice(
        token=alternative.token,
        text=alternative.text,
        probability=alternative.probability,
        sampled_probability=sampled.probability if sampled else 0.0,
        top=original.top,
        sampled_top=original.sampled_top,
    )
    kept = [*choices[:index], swapped]
    prefix = "".join(choice.text for choice in kept).lstrip()  # replies start without blanks
    return Branch(prefix, kept)
