"""Token probabilities for a reply: what the model computed and what the sampler drew from.

When a request asks for them (``SamplingSettings.logprobs`` > 0) the decode loop samples
through a ``ProbabilityProbe`` instead of ``llama_sampler_sample``. The probe does what
that C function does (copy the logits into a candidate array, ``llama_sampler_apply`` the
chain, take the selected token, ``llama_sampler_accept`` it), so the same seed gives the
same reply, but it keeps the candidate array afterwards: the chain's last sampler (``dist``)
leaves the normalised probabilities of the candidates that survived penalties, top-k,
top-p, min-p and temperature in it. The model's own distribution is the softmax of the raw
logits, read in place; the top N of either comes from ``argpartition`` (O(vocabulary)), so
a 49k vocabulary costs well under a millisecond per token. Off, nothing here runs.

Each token's probabilities are computed as it is sampled (the logits are read in place)
but handed on only once all of its text is out (``StreamingText.settled``): text that might
begin a stop string is held back, and so are the probabilities of its tokens, which then
go out with that text, or never when it was a stop string. A token holding any character of
a stop string is not reported, also the one the stop string begins in when that token's
first characters (" " of " Mar" for the stop "Marseillaise") are part of the reply: that is
what llama-server does (its answer leaves out as many tokens as the stop string has), and a
token is reported as generated only where all of it was. Likewise a character the reply
was cut off inside is left out of the text (``StreamingText.finish``) and its tokens out of
the probabilities, so the ``bytes`` of the tokens reported always join to the reply's text.
"""

from __future__ import annotations

import ctypes
from collections import deque
from collections.abc import Callable
from typing import Any

import llama_cpp
import numpy as np
import numpy.typing as npt

from chatdesk.engine.host.model import LoadedModel
from chatdesk.engine.host.sampling import SamplerChain
from chatdesk.engine.types import MAX_LOGPROBS, raw_piece

WireChoice = list[Any]  # one token's probabilities as ``TokenChoice.to_wire`` writes them

TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])  # llama_token_data

FloatArray = npt.NDArray[np.float32]


def top_indexes(
    values: FloatArray, count: int, scratch: FloatArray | None = None
) -> npt.NDArray[np.intp]:
    """Indexes of the ``count`` largest values, largest first.

    With a ``scratch`` buffer (as long as ``values``) the selection partitions a copy in
    place instead of allocating an index array the size of the vocabulary.
    """
    size = values.shape[0]
    count = min(count, size)
    if count <= 0:
        return np.empty(0, dtype=np.intp)
    if count == size:
        part = np.arange(size)
    elif scratch is None:
        part = np.argpartition(values, size - count)[-count:]
    else:
        scratch[:size] = values
        scratch[:size].partition(size - count)
        part = np.flatnonzero(values >= scratch[size - count])
    order = np.argsort(-values[part], kind="stable")[:count]
    return part[order]


def candidate_array(n_vocab: int) -> tuple[npt.NDArray[np.int32], np.ndarray, Any]:
    """Token ids, a ``llama_token_data`` buffer as numpy, and the ``llama_token_data_array``
    over it: room for every token of the vocabulary, filled per token by the caller."""
    ids = np.arange(n_vocab, dtype=np.int32)
    data = np.zeros(n_vocab, dtype=TOKEN_DATA)
    array = llama_cpp.llama_token_data_array(
        data=data.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_token_data)),
        size=n_vocab,
        selected=-1,
        sorted=False,
    )
    return ids, data, array


class ProbabilityProbe:
    """Samples one token at a time and reports each token's probabilities."""

    def __init__(
        self,
        model: LoadedModel,
        chain: SamplerChain,
        alternatives: int,
        greedy: bool,
        on_choice: Callable[[WireChoice], None],
    ) -> None:
        self.model = model
        self.chain = chain
        self.alternatives = max(1, min(alternatives, MAX_LOGPROBS))
        self.greedy = greedy
        self.on_choice = on_choice
        n_vocab = model.n_vocab
        self._ids, self._data, self._array = candidate_array(n_vocab)
        self._logits: FloatArray = np.empty(0, dtype=np.float32)
        self._texts: dict[int, tuple[str, str | None]] = {}  # text, raw bytes as hex
        self._held: deque[tuple[int, WireChoice]] = deque()  # text end, probabilities
        self._scratch: FloatArray = np.empty(n_vocab, dtype=np.float32)
        self._shifted: FloatArray = np.empty(n_vocab, dtype=np.float32)

    def sample(self, index: int = -1) -> int:
        """Sample the next token exactly as ``llama_sampler_sample`` would, from the logits
        of batch entry ``index`` (default: the last one)."""
        pointer = llama_cpp.llama_get_logits_ith(self.model.ctx, index)
        self._logits = np.ctypeslib.as_array(pointer, shape=(self.model.n_vocab,))
        data, array = self._data, self._array
        data["id"] = self._ids
        data["logit"] = self._logits
        data["p"] = 0.0
        array.size = self.model.n_vocab
        array.selected = -1
        array.sorted = False
        llama_cpp.llama_sampler_apply(self.chain.pointer, ctypes.byref(array))
        if not 0 <= array.selected < array.size:
            raise RuntimeError("the sampler chain selected no token")
        token = int(data["id"][array.selected])
        llama_cpp.llama_sampler_accept(self.chain.pointer, token)
        return token

    def report(self, token: int, through: int) -> None:
        """Hold the probabilities of ``token``, the one ``sample`` just returned, until the
        reply's text is out through character ``through`` (``StreamingText.through``)."""
        self._held.append((through, self.choice(token)))

    def release(self, settled: int) -> None:
        """Hand on the held probabilities of the tokens whose text is all out now (the
        reply's first ``settled`` characters, ``StreamingText.settled``)."""
        while self._held and self._held[0][0] <= settled:
            self.on_choice(self._held.popleft()[1])

    def choice(self, token: int) -> WireChoice:
        """The model's and the sampler's distribution around ``token``, in the compact
        form of ``TokenChoice.to_wire`` (built directly: this runs once per token)."""
        logits, shifted = self._logits, self._shifted
        np.subtract(logits, logits.max(), out=shifted)
        np.exp(shifted, out=shifted)
        total = float(shifted.sum(dtype=np.float64))
        top = top_indexes(logits, self.alternatives, self._scratch)
        model_top = self._alternatives(top.tolist(), (shifted[top] / np.float64(total)).tolist())
        sampled_probability, sampled_top = self._sampled(token)
        probability = float(shifted[token]) / total
        text, raw = self._text(token)
        wire = [token, text, probability, sampled_probability, model_top, sampled_top]
        return wire if raw is None else [*wire, raw]

    def _sampled(self, token: int) -> tuple[float, list[list[Any]]]:
        """The chosen token's probability and the top N among the chain's survivors."""
        if self.greedy:
            return 1.0, self._alternatives([token], [1.0])
        survivors = self._data[: self._array.size]
        probabilities = np.ascontiguousarray(survivors["p"])
        top = top_indexes(probabilities, self.alternatives, self._scratch)
        tokens = survivors["id"][top].tolist()
        chosen = float(probabilities[self._array.selected])
        return chosen, self._alternatives(tokens, probabilities[top].tolist())

    def _alternatives(self, tokens: list[int], probabilities: list[float]) -> list[list[Any]]:
        entries = []
        for token, probability in zip(tokens, probabilities, strict=True):
            text, raw = self._text(token)
            entries.append(
                [token, text, probability] if raw is None else [token, text, probability, raw]
            )
        return entries

    def _text(self, token: int) -> tuple[str, str | None]:
        """The token's text, and its bytes as hex where they are not valid UTF-8 on their
        own (``Alternative.raw``, as ``to_wire`` writes it)."""
        known = self._texts.get(token)
        if known is None:
            piece = self.model.piece(token, special=True)
            raw = raw_piece(piece)
            text = piece.decode("utf-8", errors="replace")
            known = self._texts[token] = (text, None if raw is None else raw.hex())
        return known
