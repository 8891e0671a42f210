"""Draft-free speculative decoding: draft tokens from the prompt and the reply so far.

Much of what people ask a small local model repeats text it has already seen (rewriting a
passage, editing code, answering from retrieved documents). ``NgramDrafter`` looks up the
last few tokens of everything so far (prompt + reply) in an index of earlier n-grams and
proposes what followed their latest earlier occurrence, as llama.cpp's prompt-lookup
("lookup") decoding does. The decode loop (``generation``) then evaluates the sampled token
and the drafts in one batch and samples every position in turn with the reply's own sampler
chain; a draft is kept only while it equals the token sampled at its position.

Why the output is unchanged: each kept token is exactly the token plain decoding would have
sampled at that position: the same logits, the same sampler chain (penalties, grammar,
top-k ... temperature) and the same random draw, because the chain's random generator is
used once per kept token, as in plain decoding. So at temperature 0 the reply is identical
token for token, and when sampling it is the same distribution (indeed, for the same seed,
the same reply): the acceptance rule "keep the draft when the sampled token equals it"
accepts with probability p(draft), which is what standard speculative sampling gives for a
deterministic draft. Token probabilities are reported from the logits of each position, so
they work unchanged; so would a grammar sampler in the chain, since every kept token passes
through it.

That holds only where llama.cpp computes a token's logits in a batch exactly as it computes
them alone, which is not everywhere: on CPU attention without flash attention differs
(so the host now turns flash attention on by default on CPU), and the repacked K-quant
kernels that a model like Gemma 3 270M (Q4_K_M) uses differ too. So the engine checks once
per loaded model, before the first speculative reply, that a batch of five gives bit for bit
the logits of five single evaluations, and drafts only where it does (and never where llama.cpp
repacked the weights for its CPU kernels: that check passed for Gemma at two threads yet a
greedy reply changed); elsewhere replies are
decoded plainly (``drafted_tokens`` stays 0).

``DraftPolicy`` decides per step whether drafting pays, and how many tokens to draft: it
keeps the measured acceptance rate per match length (a draft continues a match of 2-4
tokens; longer matches are right more often) and the measured cost of evaluating a batch of
n tokens relative to one, and drafts k tokens only when the expected tokens gained per unit
of time beat plain decoding. Ordinary chat, whose spurious matches are rarely right, soon
stops drafting (it retries a small draft now and then, in case the reply turns to quoting).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

NGRAM_MAX = 4  # longest suffix looked up
NGRAM_MIN = 2  # shortest; single-token matches are right too rarely to pay
DRAFT_MAX = 12  # most tokens drafted at once
# Acceptance prior per match length, worth 1 try: what the starter model's greedy replies
# to the four benchmark tasks kept of a one-token draft after a 2-, 3- and 4-token match
# (17/33, 16/23, 179/207; docs/architecture/performance.md). A 4-token match is usually a
# quotation, so drafting starts at once where it pays; shorter ones must prove themselves.
PRIOR_ACCEPTANCE = {2: 0.5, 3: 0.7, 4: 0.85}
PRIOR_TRIED = 1.0
COST_SLOPE_PRIOR = 0.12  # a batch of n tokens costs 1 + slope*(n-1) single evaluations, a priori
SMOOTHING = 0.2  # weight of a new timing in the running averages
DECAY = 0.8  # weight left to the acceptance counts before each new draft
RETRY_EVERY = 48  # tokens between retries once drafting stopped paying
MIN_GAIN = 1.05  # expected speed-up required to draft
SPECULATION_MODES = ("auto", "always", "off")
# "auto" speculates only where a batch token beyond the first costs at most this much of a
# single evaluation: replaying real replies of the benchmark tasks (docs/architecture/
# performance.md) gave at most 1.55x (rewrite) and 1.44x (code-edit) at 0.35, and at 0.5
# 1.30x / 1.22x with every other task at 1.00-1.03x, while drafting costs a little always.
MAX_PAYING_SLOPE = 0.35


class NgramDrafter:
    """Proposes continuations of the token history from its own earlier n-grams."""

    def __init__(self, history: Sequence[int] = ()) -> None:
        self.tokens: list[int] = []
        self._index: dict[tuple[int, ...], int] = {}  # n-gram -> where its latest copy ended
        self.extend(history)

    def extend(self, tokens: Sequence[int]) -> None:
        """Add tokens to the history (and their n-grams to the index)."""
        history, index = self.tokens, self._index
        for token in tokens:
            end = len(history)  # the n-grams ending just before ``token`` are followed by it
            for n in range(NGRAM_MIN, NGRAM_MAX + 1):
                if end >= n:
                    index[tuple(history[end - n : end])] = end
            history.append(token)

    def draft(self, limit: int) -> tuple[list[int], int]:
        """(up to ``limit`` tokens that followed the longest earlier match of the history's
        end, the match's length in tokens); ([], 0) when there is none."""
        history = self.tokens
        for n in range(NGRAM_MAX, NGRAM_MIN - 1, -1):
            if len(history) < n:
                continue
            start = self._index.get(tuple(history[-n:]))
            if start is not None and start < len(history):
                return history[start : start + limit], n
        return [], 0


@dataclass
class DraftPolicy:
    """Measures acceptance and batch cost as the reply goes; says how much to draft.

    Acceptance is kept per match length as decaying counts (recent drafts weigh most, so a
    reply that stops quoting stops drafting within a few tries); the cost of a batch of n
    tokens is modelled as ``1 + slope * (n - 1)`` single evaluations, the slope a running
    average of what the batches measured.
    """

    tried: dict[int, float] = field(default_factory=dict)  # per match length, decaying
    kept: dict[int, float] = field(default_factory=dict)
    single_seconds: float = 0.0  # running average of one token's evaluation
    slope: float = COST_SLOPE_PRIOR
    drafted: int = 0
    accepted: int = 0
    idle: int = 0  # tokens since drafting last looked worth it
    eager: bool = False  # cost ignored (batches taken as free): draft whatever may be kept

    def acceptance(self, match: int) -> float:
        """Chance that a draft token after a match of this length is kept (given the
        ones before it were)."""
        kept = self.kept.get(match, 0.0) + PRIOR_TRIED * PRIOR_ACCEPTANCE.get(match, 0.5)
        return kept / (self.tried.get(match, 0.0) + PRIOR_TRIED)

    def cost(self, size: int) -> float:
        """Expected cost of a batch of ``size`` tokens, in single evaluations."""
        return 1.0 + self.slope * (size - 1)

    def choose(self, available: int, match: int) -> int:
        """How many of ``available`` drafted tokens to verify (0: decode plainly)."""
        if available <= 0:
            return 0
        alpha = self.acceptance(match)
        best, best_gain, expected, run = 0, MIN_GAIN, 1.0, 1.0
        for k in range(1, min(available, DRAFT_MAX) + 1):
            run *= alpha
            expected += run
            gain = expected / self.cost(k + 1)
            if gain > best_gain:
                best, best_gain = k, gain
        if best:
            self.idle = 0
            return best
        self.idle += 1
        if self.idle >= RETRY_EVERY:  # look again, cheaply: the reply may have changed
            self.idle = 0
            return min(available, 2)
        return 0

    def record(self, match: int, drafted: int, accepted: int, seconds: float) -> None:
        """A batch of 1 + ``drafted`` tokens took ``seconds``; ``accepted`` drafts were kept."""
        self.drafted += drafted
        self.accepted += accepted
        tried = min(accepted + 1, drafted)
        self.tried[match] = self.tried.get(match, 0.0) * DECAY + tried
        self.kept[match] = self.kept.get(match, 0.0) * DECAY + accepted
        if self.single_seconds > 0 and not self.eager:
            observed = max(seconds / self.single_seconds - 1.0, 0.0) / drafted
            self.slope += SMOOTHING * (observed - self.slope)

    def record_single(self, seconds: float) -> None:
        """One token's plain evaluation took ``seconds``."""
        previous = self.single_seconds
        self.single_seconds = (
            seconds if previous <= 0 else previous + SMOOTHING * (seconds - previous)
        )


@dataclass
class SpeculationGate:
    """Whether the loaded model speculates at all: ``mode`` "auto" where verifying a batch
    is exact and cheap enough to pay (``judge``), "always" wherever it is exact and then
    eagerly, as if batches were free (tests and benchmarks: what drafting does at the
    machine's real cost), "off" never; never where llama.cpp repacked the weights."""

    mode: str = "auto"
    repacked: bool = False
    on: bool | None = None  # None: not checked yet (when a reply first has drafts)
    exact: bool | None = None
    slope: float | None = None  # measured cost of each batch token beyond the first

    def __post_init__(self) -> None:
        if self.mode == "off" or self.repacked:
            self.on = False

    def judge(self, exact: bool, slope: float) -> None:
        """The once-per-model check's findings decide."""
        self.exact, self.slope = exact, slope
        self.on = exact and (self.mode == "always" or slope <= MAX_PAYING_SLOPE)

    def describe(self) -> dict[str, object]:
        """For the host's status (and so ``chatdesk bench``): what was found."""
        return {"mode": self.mode, "on": self.on, "exact": self.exact,
                "batch_slope": self.slope, "repacked_weights": self.repacked}  # fmt: skip


class Speculator:
    """One reply's drafter and policy: ``propose`` drafts, ``record`` learns from the result."""

    def __init__(
        self,
        prompt: Sequence[int],
        slope: float | None = None,
        check: Callable[[int], float | None] | None = None,
        eager: bool = False,
    ) -> None:
        # indexed at the first ``propose`` (the prompt is not copied before: a turn after a
        # long history would pay for it before its first token); tokens added until then
        self._prompt: Sequence[int] | None = prompt
        self._added: list[int] = []
        self._drafter: NgramDrafter | None = None
        self._check = check  # the model's once-only check, run before the first drafts:
        # the measured batch cost slope where speculation is on, None where it is not
        self.off = False
        prior = COST_SLOPE_PRIOR if slope is None else slope
        self.policy = DraftPolicy(slope=0.0 if eager else prior, eager=eager)
        self.match = 0

    @property
    def drafter(self) -> NgramDrafter:
        """The index of the history, built when first needed (after the first token, so
        a long prompt's indexing never delays it)."""
        if self._drafter is None:
            self._drafter = NgramDrafter(self._prompt or ())
            self._drafter.extend(self._added)
            self._prompt = None
        return self._drafter

    def propose(self, limit: int, position: int) -> list[int]:
        """Tokens to verify after the history's last token, which goes to KV ``position``
        (empty: evaluate plainly)."""
        if limit <= 0 or self.off:
            return []
        drafts, self.match = self.drafter.draft(min(limit, DRAFT_MAX))
        drafts = drafts[: self.policy.choose(len(drafts), self.match)]
        if drafts and self._check is not None:
            check, self._check = self._check, None
            slope = check(position)
            if slope is None:
                self.off = True
                return []
            if not self.policy.eager:
                self.policy.slope = slope
        return drafts

    def append(self, token: int) -> None:
        """A token joined the reply."""
        if self._drafter is None:
            self._added.append(token)
        else:
            self._drafter.extend((token,))

    def record(self, drafted: int, accepted: int, seconds: float) -> None:
        """The verification of ``drafted`` tokens kept ``accepted`` and took ``seconds``."""
        self.policy.record(self.match, drafted, accepted, seconds)

    def record_single(self, seconds: float) -> None:
        """A plain one-token evaluation took ``seconds``."""
        self.policy.record_single(seconds)
