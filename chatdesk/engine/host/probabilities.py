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
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import llama_cpp
import numpy as np
import numpy.typing as npt

from chatdesk.engine.host.model import LoadedModel
from chatdesk.engine.host.sampling import SamplerChain
from chatdesk.engine.types import MAX_LOGPROBS, Alternative, TokenChoice

TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])  # llama_token_data

FloatArray = npt.NDArray[np.float32]


def top_indexes(values: FloatArray, count: int) -> npt.NDArray[np.intp]:
    """Indexes of the ``count`` largest values, largest first."""
    count = min(count, values.shape[0])
    if count <= 0:
        return np.empty(0, dtype=np.intp)
    if count < values.shape[0]:
        part = np.argpartition(values, values.shape[0] - count)[-count:]
    else:
        part = np.arange(values.shape[0])
    return part[np.argsort(-values[part], kind="stable")]


class ProbabilityProbe:
    """Samples one token at a time and reports each token's ``TokenChoice``."""

    def __init__(
        self,
        model: LoadedModel,
        chain: SamplerChain,
        alternatives: int,
        greedy: bool,
        on_choice: Callable[[TokenChoice], None],
    ) -> None:
        self.model = model
        self.chain = chain
        self.alternatives = max(1, min(alternatives, MAX_LOGPROBS))
        self.greedy = greedy
        self.on_choice = on_choice
        n_vocab = model.n_vocab
        self._ids = np.arange(n_vocab, dtype=np.int32)
        self._data = np.zeros(n_vocab, dtype=TOKEN_DATA)
        self._array = llama_cpp.llama_token_data_array(
            data=self._data.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_token_data)),
            size=n_vocab,
            selected=-1,
            sorted=False,
        )
        self._logits: FloatArray = np.empty(0, dtype=np.float32)

    def sample(self) -> int:
        """Sample the next token exactly as ``llama_sampler_sample`` would."""
        pointer = llama_cpp.llama_get_logits_ith(self.model.ctx, -1)
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

    def report(self, token: int) -> None:
        """Hand on the probabilities of ``token``, the one ``sample`` just returned."""
        self.on_choice(self.choice(token))

    def choice(self, token: int) -> TokenChoice:
        """The model's and the sampler's distribution around ``token``."""
        logits = self._logits
        shifted = np.exp(logits - logits.max())
        total = float(shifted.sum())
        top = top_indexes(logits, self.alternatives)
        model_top = tuple(self._alternative(int(t), float(shifted[t]) / total) for t in top)
        sampled_probability, sampled_top = self._sampled(token)
        return TokenChoice(
            token=token,
            text=self._text(token),
            probability=float(shifted[token]) / total,
            sampled_probability=sampled_probability,
            top=model_top,
            sampled_top=sampled_top,
        )

    def _sampled(self, token: int) -> tuple[float, tuple[Alternative, ...]]:
        """The chosen token's probability and the top N among the chain's survivors."""
        if self.greedy:
            return 1.0, (self._alternative(token, 1.0),)
        survivors = self._data[: self._array.size]
        probabilities = np.ascontiguousarray(survivors["p"])
        top = top_indexes(probabilities, self.alternatives)
        alternatives = tuple(
            self._alternative(int(survivors["id"][i]), float(probabilities[i])) for i in top
        )
        chosen = float(probabilities[self._array.selected])
        return chosen, alternatives

    def _alternative(self, token: int, probability: float) -> Alternative:
        return Alternative(token, self._text(token), probability)

    def _text(self, token: int) -> str:
        return self.model.piece(token, special=True).decode("utf-8", errors="replace")
