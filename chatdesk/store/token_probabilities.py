"""Token probabilities of replies and the few-shot examples of conversations.

A reply's probabilities are one packed BLOB (``chatdesk.probabilities.codec``) in the
``token_probabilities`` table, keyed by the message and deleted with it (ON DELETE
CASCADE). A conversation's examples are a JSON list of ``{"user": ..., "assistant": ...}``
pairs in its ``examples`` column, checked by ``check_examples`` wherever they come in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chatdesk.engine.types import TokenChoice
from chatdesk.probabilities.codec import ProbabilityFormatError, pack, unpack
from chatdesk.store.base import StoreBase, synchronized
from chatdesk.store.errors import InvalidValueError, NotFoundError

MAX_EXAMPLES = 50
EXAMPLE_ROLES = ("user", "assistant")


def check_examples(value: Any) -> list[dict[str, str]]:
    """Example exchanges as stored: a list of ``{"user": text, "assistant": text}``."""
    if not isinstance(value, list | tuple) or len(value) > MAX_EXAMPLES:
        raise InvalidValueError(f"examples must be a list of at most {MAX_EXAMPLES} pairs")
    clean = []
    for n, pair in enumerate(value):
        if not isinstance(pair, dict) or not all(
            isinstance(pair.get(role), str) for role in EXAMPLE_ROLES
        ):
            raise InvalidValueError(f"example {n + 1} needs a user and an assistant text")
        clean.append({role: str(pair[role]) for role in EXAMPLE_ROLES})
    return clean


def load_examples(text: str | None) -> list[dict[str, str]]:
    """Stored examples back to pairs; anything unreadable reads as none."""
    try:
        return check_examples(json.loads(text or "[]"))
    except (ValueError, InvalidValueError):
        return []


def dump_examples(examples: Sequence[dict[str, str]]) -> str:
    """Checked examples as stored JSON text."""
    return json.dumps(check_examples(list(examples)), ensure_ascii=False)


class TokenProbabilitiesMixin(StoreBase):
    """The token-probabilities part of ``Store``."""

    @synchronized
    def save_token_probabilities(self, mid: str, choices: Sequence[TokenChoice]) -> None:
        """Keep a reply's token probabilities (replacing any kept before)."""
        if self._row("SELECT 1 FROM messages WHERE id = ?", [mid]) is None:
            raise NotFoundError(f"no message with id {mid!r}")
        self._write(
            "INSERT INTO token_probabilities (message_id, token_count, data) VALUES (?, ?, ?) "
            "ON CONFLICT (message_id) DO UPDATE SET token_count = excluded.token_count, "
            "data = excluded.data",
            [mid, len(choices), pack(choices)],
        )

    @synchronized
    def token_probabilities(self, mid: str) -> list[TokenChoice] | None:
        """A reply's token probabilities, or None when none were kept (or they are broken)."""
        row = self._row("SELECT data FROM token_probabilities WHERE message_id = ?", [mid])
        if row is None:
            return None
        try:
            return unpack(bytes(row[0]))
        except ProbabilityFormatError:
            return None

    @synchronized
    def has_token_probabilities(self, mids: Sequence[str]) -> set[str]:
        """Which of these messages have token probabilities kept."""
        found: set[str] = set()
        for start in range(0, len(mids), 500):
            chunk = list(mids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            rows = self._rows(
                f"SELECT message_id FROM token_probabilities WHERE message_id IN ({marks})", chunk
            )
            found.update(row[0] for row in rows)
        return found
