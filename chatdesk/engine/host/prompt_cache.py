"""The loaded model's KV cache across turns and conversations.

``prepare`` decides, for a new prompt, how much of what is cached can stay: the longest
prefix shared with what the context holds (by token ids, or by text; see ``kv_context``),
or, when the conversation changed, with that conversation's saved state, which is then
restored. The conversation being left is saved first (``StateCache``, bounded by bytes),
so switching back to it evaluates only its new message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatdesk.engine.host.kv_context import KVContext, common_prefix, reply_pieces
from chatdesk.engine.host.model import LoadedModel
from chatdesk.engine.host.state_cache import SavedState, StateCache


@dataclass(frozen=True)
class PreparedPrompt:
    """The prompt's tokens, how many are already in the KV cache, and from where."""

    tokens: list[int]
    keep: int
    source: str  # "context", "saved" or "none"


class PromptCache:
    """Bookkeeping of one model's KV cache (sequence 0) and saved conversation states."""

    def __init__(self, model: LoadedModel, max_bytes: int) -> None:
        self.model = model
        self.kv = KVContext()
        self.key: str | None = None
        self.states = StateCache(max_bytes)

    def prepare(self, key: str | None, text: str, canonical: list[int]) -> PreparedPrompt:
        """Make the KV cache hold the longest reusable prefix of the prompt ``text``."""
        prompt = text.encode("utf-8")
        source = self._switch(key, prompt, canonical)
        tokens, keep = self._plan(prompt, canonical)
        keep = min(keep, len(tokens) - 1)  # the last token is evaluated for fresh logits
        if not self.model.truncate(keep):
            self.model.clear()
            keep = 0
        self.kv.truncate(keep)
        return PreparedPrompt(tokens, keep, source if keep else "none")

    def _reusable(self, kv: KVContext, prompt: bytes, canonical: list[int]) -> int:
        return max(common_prefix(kv.tokens, canonical), kv.match_text(prompt)[0])

    def _switch(self, key: str | None, prompt: bytes, canonical: list[int]) -> str:
        if key is None or key == self.key:
            return "context"
        if self.key is not None and len(self.kv):
            data = bytes(self.model.save_sequence())
            self.states.put(
                self.key, SavedState(tuple(self.kv.tokens), data, tuple(self.kv.pieces))
            )
        self.key = key
        saved = self.states.get(key)
        if saved is None:
            return "context"
        candidate = KVContext(list(saved.tokens), list(saved.pieces))
        if self._reusable(candidate, prompt, canonical) <= self._reusable(
            self.kv, prompt, canonical
        ):
            return "context"
        if self.model.restore_sequence(bytearray(saved.data)):
            self.kv = candidate
            return "saved"
        self.kv.clear()
        return "none"

    def _plan(self, prompt: bytes, canonical: list[int]) -> tuple[list[int], int]:
        """The tokens to use: the cached ones that spell the prompt's start, then the rest."""
        by_tokens = common_prefix(self.kv.tokens, canonical)
        count, offset = self.kv.match_text(prompt)
        if count <= by_tokens or offset >= len(prompt):
            return canonical, by_tokens
        rest = self.model.tokenize(prompt[offset:].decode("utf-8"), add_special=False)
        tokens = self.kv.tokens[:count] + rest
        if len(tokens) > len(canonical) + 16:  # an odd split: prefer the canonical tokens
            return canonical, by_tokens
        return tokens, count

    def record_prompt(self, tokens: Sequence[int]) -> None:
        """Prompt tokens were evaluated after the kept prefix."""
        self.kv.extend(tokens, [self.model.piece(token, special=True) for token in tokens])

    def record_reply(self, tokens: Sequence[int]) -> None:
        """Generated tokens were evaluated; their text is as the reply shows it."""
        pieces = reply_pieces([self.model.piece(token) for token in tokens])
        self.kv.extend(tokens, pieces)

    def forget_after(self, keep: int) -> None:
        """An evaluation was interrupted: nothing after ``keep`` is reliable."""
        self.model.truncate(keep)
        self.kv.truncate(keep)
