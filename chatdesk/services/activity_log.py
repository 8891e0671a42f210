"""What the services did, in the log: one line when a reply starts, one when it ends.

A ``TurnListener`` (registered by ``AppServices`` on every turn service, window and command
line alike) rather than log calls inside the turn's logic: the turn service stays about the
turn, and every reply, whichever feature made it (tools, documents, token probabilities, a
remote engine), is logged the same way on the ``chatdesk.turns`` logger at INFO:

    reply started: conversation 3f2a…, model SmolLM2-135M, engine local
    reply complete: conversation 3f2a…, model SmolLM2-135M, engine local, 2.41 s,
        41 prompt + 120 generated tokens, first token 180.2 ms, 52.3 tok/s, finish stop

A failed reply is a WARNING with the engine's reason. The text itself is never logged.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

log = logging.getLogger("chatdesk.turns")


class LoggedTurn(Protocol):
    """What the log reads of a turn (``chatdesk.services.turns.Turn``)."""

    message_id: str
    identity: dict[str, Any]
    model: str | None
    status: str
    stats: dict[str, Any]
    error: str | None

    @property
    def conversation_id(self) -> str:
        """The conversation the reply belongs to."""
        ...


def model_and_engine(turn: LoggedTurn) -> tuple[str, str]:
    """The model's name and the engine that ran it (local, or the remote engine's name)."""
    identity = turn.identity or {}
    name = str(identity.get("name") or turn.model or "no model")
    engine = str(identity.get("engine") or identity.get("kind") or "local")
    return name, engine


class TurnLog:
    """Logs each reply's start and end (a ``TurnListener``)."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def turn_started(self, turn: LoggedTurn) -> None:
        """A reply started."""
        self._started[turn.message_id] = time.monotonic()
        name, engine = model_and_engine(turn)
        log.info(
            "reply started: conversation %s, model %s, engine %s",
            turn.conversation_id, name, engine,
        )  # fmt: skip

    def turn_text(self, turn: LoggedTurn, delta: str) -> None:
        """Text is not logged."""

    def turn_finished(self, turn: LoggedTurn) -> None:
        """A reply ended: how, how long, how many tokens, how fast."""
        took = time.monotonic() - self._started.pop(turn.message_id, time.monotonic())
        name, engine = model_and_engine(turn)
        stats = turn.stats or {}
        where = f"conversation {turn.conversation_id}, model {name}, engine {engine}"
        if turn.error:
            log.warning("reply %s: %s, %.2f s: %s", turn.status, where, took, turn.error)
            return
        log.info(
            "reply %s: %s, %.2f s, %s prompt + %s generated tokens, first token %s ms, "
            "%s tok/s, finish %s",
            turn.status, where, took, stats.get("prompt_tokens"),
            stats.get("completion_tokens"), stats.get("time_to_first_token_ms"),
            stats.get("tokens_per_second"), stats.get("finish_reason"),
        )  # fmt: skip
