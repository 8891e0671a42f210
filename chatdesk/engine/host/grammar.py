"""Grammar-constrained sampling that costs little per token: check first, mask when needed.

llama.cpp's grammar sampler checks every candidate it is given against the grammar; over a
whole 49k vocabulary that is milliseconds per token, as much as the small model's decode
(measured: docs/architecture/structured-output.md). So, as llama.cpp's own tools do, the
token is drawn first with the ordinary chain and only checked: one candidate. When the
grammar rejects it, the draw is repeated on the ``SHORTLIST`` most likely tokens with the
grammar applied to them, and only if none of those is allowed on the whole vocabulary. The
grammar then accepts the token drawn. Every token drawn is one the grammar allows, so every
reply stays inside it; what changes against masking first is only the distribution among
allowed tokens when the model's favourite is not allowed. (With token probabilities asked
for, the engine puts the grammar into the chain itself instead, so the probabilities shown
are the constrained ones.)
"""

from __future__ import annotations

import ctypes

import llama_cpp
import numpy as np

from chatdesk.engine.host.model import DecodeFailed, LoadedModel
from chatdesk.engine.host.probabilities import candidate_array
from chatdesk.engine.host.sampling import GrammarError, SamplerChain

SHORTLIST = 256  # candidates tried with the grammar before the whole vocabulary


class GrammarSampler:
    """Draws tokens through ``chain`` that ``grammar`` (GBNF) allows; ``close`` frees it."""

    def __init__(self, model: LoadedModel, chain: SamplerChain, grammar: str) -> None:
        self.model = model
        self.chain = chain
        self.grammar = llama_cpp.llama_sampler_init_grammar(
            model.vocab, grammar.encode("utf-8"), b"root"
        )
        if not self.grammar:
            raise GrammarError("llama.cpp could not parse the reply's grammar")
        self._ids, self._data, self._array = candidate_array(model.n_vocab)
        self.rejections = 0  # draws the grammar turned down (for the benchmark)

    def sample(self) -> int:
        """The next token: drawn by the chain, allowed by the grammar, accepted by both."""
        pointer = llama_cpp.llama_get_logits_ith(self.model.ctx, -1)
        logits = np.ctypeslib.as_array(pointer, shape=(self.model.n_vocab,))
        token = self._draw(logits, None)
        if not self._allowed(token):
            self.rejections += 1
            shortlist = np.argpartition(logits, -SHORTLIST)[-SHORTLIST:]
            token = self._draw(logits, shortlist, grammar=True)
            if token < 0:
                token = self._draw(logits, None, grammar=True)
            if token < 0 or not self._allowed(token):
                raise DecodeFailed("the grammar allows no token here")
        llama_cpp.llama_sampler_accept(self.chain.pointer, token)
        llama_cpp.llama_sampler_accept(self.grammar, token)
        return token

    def _draw(self, logits: np.ndarray, subset: np.ndarray | None, grammar: bool = False) -> int:
        """Apply (the grammar and) the chain to all candidates or ``subset``; -1: none left."""
        size = self.model.n_vocab if subset is None else len(subset)
        data, array = self._data, self._array
        data["id"][:size] = self._ids if subset is None else subset
        data["logit"][:size] = logits if subset is None else logits[subset]
        data["p"][:size] = 0.0
        array.size, array.selected, array.sorted = size, -1, False
        if grammar:
            llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(array))
            if not np.isfinite(data["logit"][: array.size]).any():
                return -1
        llama_cpp.llama_sampler_apply(self.chain.pointer, ctypes.byref(array))
        if not 0 <= array.selected < array.size:
            return -1
        return int(data["id"][array.selected])

    def _allowed(self, token: int) -> bool:
        one = (llama_cpp.llama_token_data * 1)(llama_cpp.llama_token_data(token, 0.0, 0.0))
        single = llama_cpp.llama_token_data_array(data=one, size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(single))
        return bool(np.isfinite(one[0].logit))

    def close(self) -> None:
        """Free the grammar sampler."""
        if self.grammar:
            llama_cpp.llama_sampler_free(self.grammar)
            self.grammar = None
