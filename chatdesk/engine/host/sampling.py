"""A llama.cpp sampler chain built from ``SamplingSettings``.

Order as in llama.cpp's own tools: logit bias, penalties (repeat / presence / frequency
over the last ``repeat_last_n`` tokens), the grammar of a constrained reply (JSON schema,
tool call: compiled by ``chatdesk.engine.constrain``), then top-k, top-p, min-p, temperature
and the seeded draw. The grammar comes before everything that picks among candidates, so
every sampler after it (and the token probabilities read from the chain) sees the
constrained distribution; the chain's accept step advances the grammar. Temperature <= 0
means greedy. The same seed, settings and prompt give the same reply.
"""

from __future__ import annotations

import ctypes
import random
from collections.abc import Sequence

import llama_cpp

from chatdesk.engine.types import SamplingSettings

SUPPRESS = -float("inf")


def resolve_seed(settings: SamplingSettings) -> int:
    """The seed to use: the settings' own, or a fresh random one."""
    if settings.seed is not None:
        return settings.seed & 0xFFFFFFFF
    return random.SystemRandom().randrange(0, 2**31)


class GrammarError(ValueError):
    """llama.cpp could not parse a grammar."""


class SamplerChain:
    """Owns one ``llama_sampler`` chain; ``close`` frees it."""

    def __init__(
        self,
        settings: SamplingSettings,
        seed: int,
        n_vocab: int,
        suppressed: Sequence[int] = (),
        *,
        grammar: tuple[object, str] | None = None,
        history: Sequence[int] = (),
        slot: ChainSlot | None = None,
    ) -> None:
        """``grammar``: (llama vocab, GBNF text) of a constrained reply; ``history``: the
        prompt's tail, recorded by the repetition penalties only (never by the grammar);
        ``slot``: the model's kept chain, filled with this reply's samplers when free."""
        self._slot = slot if slot is not None and slot.take() else None
        self.pointer = self._slot.pointer if self._slot is not None else new_chain()
        if suppressed:
            self._add(self._logit_bias(n_vocab, suppressed))
        if _penalties_active(settings):
            penalties = llama_cpp.llama_sampler_init_penalties(
                n_vocab,
                settings.repeat_last_n,
                settings.repeat_penalty,
                settings.frequency_penalty,
                settings.presence_penalty,
            )
            for token in history:
                llama_cpp.llama_sampler_accept(penalties, token)
            self._add(penalties)
        if grammar is not None:
            self._add(self._grammar(*grammar))
        if settings.temperature <= 0:
            self._add(llama_cpp.llama_sampler_init_greedy())
            return
        if settings.top_k > 0:
            self._add(llama_cpp.llama_sampler_init_top_k(settings.top_k))
        if 0 < settings.top_p < 1:
            self._add(llama_cpp.llama_sampler_init_top_p(settings.top_p, 1))
        if settings.min_p > 0:
            self._add(llama_cpp.llama_sampler_init_min_p(settings.min_p, 1))
        self._add(llama_cpp.llama_sampler_init_temp(settings.temperature))
        self._add(llama_cpp.llama_sampler_init_dist(seed))

    def _add(self, sampler: ctypes.c_void_p) -> None:
        llama_cpp.llama_sampler_chain_add(self.pointer, sampler)

    @staticmethod
    def _logit_bias(n_vocab: int, tokens: Sequence[int]) -> ctypes.c_void_p:
        biases = (llama_cpp.llama_logit_bias * len(tokens))()
        for index, token in enumerate(tokens):
            biases[index].token = llama_cpp.llama_token(token)
            biases[index].bias = SUPPRESS
        return llama_cpp.llama_sampler_init_logit_bias(n_vocab, len(tokens), biases)

    def _grammar(self, vocab: object, text: str) -> ctypes.c_void_p:
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, text.encode("utf-8"), b"root")
        if not sampler:
            self.close()
            raise GrammarError("llama.cpp could not parse the reply's grammar")
        return sampler

    def close(self) -> None:
        """Free the samplers, and the chain unless it is the slot's (which is emptied)."""
        if self._slot is not None:
            self._slot.give_back()
            self._slot = None
        elif self.pointer:
            llama_cpp.llama_sampler_free(self.pointer)
        self.pointer = None


def new_chain() -> ctypes.c_void_p:
    """An empty llama.cpp sampler chain."""
    params = llama_cpp.llama_sampler_chain_default_params()
    params.no_perf = True
    return llama_cpp.llama_sampler_chain_init(params)


class ChainSlot:
    """One sampler chain kept while a model is loaded, which each reply's ``SamplerChain``
    fills with its samplers and empties again.

    llama.cpp's chain sizes its candidate buffer (one entry per vocabulary token: 590 KiB
    on the starter model, 3 MiB on Gemma 3) at its first sample. A chain made per reply
    allocated it again before every first token, and after a conversation switch (other
    allocations in between) that was fresh memory: up to 144 page faults, 0.1-0.3 ms of
    the first token (docs/architecture/switch-back.md). A kept chain keeps its buffer.
    """

    def __init__(self) -> None:
        self.pointer: ctypes.c_void_p | None = new_chain()
        self._taken = False

    def take(self) -> bool:
        """Claim the chain for one reply; False while another holds it (or after close)."""
        if self._taken or not self.pointer:
            return False
        self._taken = True
        return True

    def give_back(self) -> None:
        """Free the samplers a reply added; the chain (and its buffer) stays."""
        while (count := llama_cpp.llama_sampler_chain_n(self.pointer)) > 0:
            llama_cpp.llama_sampler_free(
                llama_cpp.llama_sampler_chain_remove(self.pointer, count - 1)
            )
        self._taken = False

    def close(self) -> None:
        """Free the chain (with the model)."""
        if self.pointer:
            llama_cpp.llama_sampler_free(self.pointer)
            self.pointer = None


def _penalties_active(settings: SamplingSettings) -> bool:
    return settings.repeat_last_n != 0 and (
        settings.repeat_penalty != 1.0
        or settings.frequency_penalty != 0.0
        or settings.presence_penalty != 0.0
    )
