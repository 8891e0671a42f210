"""The loaded model's KV cache across turns and conversations.

``prepare`` decides, for a new prompt, how much of what is cached can stay: the longest
prefix shared with what the context holds (by token ids, or by text; see ``kv_context``),
or, when the conversation changed, with that conversation's saved state, which is then
restored. The conversation being left is saved first (``StateCache``, bounded by bytes),
so switching back to it evaluates only its new message. Once conversations have been
switched, the host also saves the current one when it has been idle for a moment after a
reply (``keep_current``): then leaving it costs no save (30-100 ms for 4k tokens on the
starter model, most of it first touching a fresh 100 MB buffer) unless it changed since.
A left conversation is also written to the disk cache in the background, except one whose
key starts with ``RAM_ONLY_KEY`` (the API server's).
A prompt already evaluated to its end, whose logits the context still holds
(``LoadedModel.logits_at``: a complete warm), evaluates nothing: the reply samples at once.

A prompt can also leave most of its conversation's latest state behind: a chat longer than
the context moves its cut (the warm as a reply ends does it, see
``chatdesk.engine.context_fit``), or an older message was edited. The prompt then needs a
long read anyway, and the state it leaves (the context's, or the one saved when the
conversation was left) is kept too, under the conversation's key and ``BEFORE_CUT``
(``_restore_best``). Regenerating the reply before the cut asks for that state's prompt
again: it is restored (and the newer one kept in its place), so the regenerate reads one
token instead of the whole old cut (starter model at 4k, ``bench_long_chat.py
--regenerate``: 101 ms, where it read 3,675 tokens in 54 s; other regenerates 53 ms). A
turn with little to read looks at no saved state.

A sliding-window model's window layers keep only about their window (llama.cpp's
``swa_full = false``, as llama-server and llama-bench run them: on Gemma 3 at 16k tokens
prompts are 15-20% faster and that cache 16x smaller), so going back further than their spare
cells (about a micro-batch) loses positions they need. ``LoadedModel.truncate`` says so,
and ``prepare`` then puts back the window checkpoint taken where the last reply's prompt
ended (``checkpoint``: what a regenerate goes back to; warms take none, so the warm as a
reply ends keeps it; a saved state carries the one it had),
or, when none fits, evaluates the prompt again from the start (an edit of an older
message on such a model).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

from chatdesk.engine.host.kv_context import KVContext, common_prefix, reply_pieces
from chatdesk.engine.host.model import DecodeFailed, LoadedModel
from chatdesk.engine.host.state_cache import Checkpoint, DiskStates, SavedState, StateCache
from chatdesk.engine.request import RAM_ONLY_KEY

BEFORE_CUT = "\x00before-cut"  # a conversation's key + this: its state before a long read
LONG_READ = 256  # tokens: about a second to read on a laptop's CPU; a snapshot takes 30-100 ms


class _Candidate(NamedTuple):
    """A saved state that may be restored for a prompt: its bookkeeping, what it shares."""

    saved: SavedState
    kv: KVContext
    shares: int


@dataclass(frozen=True)
class PreparedPrompt:
    """The prompt's tokens, how many are already in the KV cache, and from where."""

    tokens: list[int]
    keep: int
    source: str  # "context", "saved" or "none"


class PromptCache:
    """Bookkeeping of one model's KV cache (sequence 0) and saved conversation states."""

    def __init__(self, model: LoadedModel, max_bytes: int, disk: DiskStates | None = None) -> None:
        self.model = model
        self.kv = KVContext()
        self.key: str | None = None
        self.states = StateCache(max_bytes)
        self.disk = disk
        self.checkpoint: Checkpoint | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kv-writer")

    def prepare(
        self,
        key: str | None,
        text: str,
        canonical: list[int],
        tokenize_from: Callable[[int], list[int]],
    ) -> PreparedPrompt:
        """Make the KV cache hold the longest reusable prefix of the prompt ``text``.

        ``canonical`` is the whole prompt tokenized; ``tokenize_from(n)`` tokenizes it from
        byte ``n`` on (after cached tokens that spell its first ``n`` bytes).
        """
        prompt = text.encode("utf-8")
        own = key == self.key  # the context holds this conversation's latest state
        if not own:  # another conversation, or none (the API server's, a completion)
            self._save_current(wait=False)  # so its next turn restores it
            self.key, self.checkpoint = key, None
        source = "context"
        if key is not None and not (own and self._little_to_read(canonical)):
            source = self._restore_best(key, own, prompt, canonical)
        tokens, keep = self._plan(prompt, canonical, tokenize_from)
        self.kv.adopt(tokens, keep)
        keep = self._truncate(self._kept_whole(keep, tokens))
        return PreparedPrompt(tokens, keep, source if keep else "none")

    def _truncate(self, keep: int) -> int:
        """Make the cache hold ``keep`` tokens, from which evaluation can go on (with the
        window checkpoint where going back lost window cells); else empty it: 0."""
        try:
            self.model.go_back(keep, self._checkpoint_for(keep))
        except DecodeFailed:
            print(
                f"chatdesk-host: the KV cache cannot go back to {keep} of {len(self.kv)} "
                "tokens (the window layers lost positions): evaluating the prompt again",
                file=sys.stderr,
                flush=True,
            )
            self.model.clear()
            keep = 0
        self._forget(keep)
        return keep

    def _checkpoint_for(self, keep: int) -> bytearray | None:
        """The window checkpoint's cells where they fit going back to ``keep``."""
        point = self.checkpoint
        if point is None or not point.length - 1 <= keep <= point.length:
            return None
        return point.data

    def _forget(self, keep: int) -> None:
        """Positions from ``keep`` on go (from the bookkeeping; a checkpoint past them is
        stale once other tokens take their place)."""
        self.kv.truncate(keep)
        if self.checkpoint is not None and keep < self.checkpoint.length:
            self.checkpoint = None

    def _kept_whole(self, keep: int, tokens: list[int]) -> int:
        """All of a prompt that is cached whole and whose last token's logits the context
        still holds (a warm evaluated it to its end); else the last token is evaluated
        again for fresh logits."""
        if keep >= len(tokens) and self.model.logits_at == len(tokens) - 1:
            return len(tokens)
        return min(keep, len(tokens) - 1)

    def _reusable(self, kv: KVContext, prompt: bytes, canonical: list[int]) -> int:
        return max(common_prefix(kv.tokens, canonical), kv.match_text(prompt)[0])

    def _restore_best(self, key: str, own: bool, prompt: bytes, canonical: list[int]) -> str:
        """Of the conversation's states (its latest: the context when ``own``, else the one
        saved when it was left; and the one a long read left, ``BEFORE_CUT``), restore the
        one that shares most of the prompt, where it shares more than the context. A long
        read or a restore that leaves the latest behind keeps it as ``BEFORE_CUT`` (a
        regenerate of the reply before a moved cut goes back to it, and the warm after it
        back to the new cut), in place of the one it restores."""
        context = self._reusable(self.kv, prompt, canonical)
        saved = None if own else self.states.get(key) or self._from_disk(key)
        latest = self._candidate(saved, prompt, canonical)
        before = self._candidate(self.states.get(key + BEFORE_CUT), prompt, canonical)
        better = [c for c in (latest, before) if c is not None and c.shares > context]
        best = max(better, key=lambda candidate: candidate.shares, default=None)
        left, shared = (len(self.kv), context) if own else (0, 0)
        if latest is not None:
            left, shared = len(latest.kv), latest.shares
        long_read = best is not None or len(canonical) - context >= LONG_READ
        if long_read and left - shared >= LONG_READ:  # (a restore replaces it all)
            self._keep_before_cut(key, saved)
        return "context" if best is None else self._restore(best)

    def _little_to_read(self, canonical: list[int]) -> bool:
        """Whether the context already holds all but a short read of the prompt (the usual
        turn: no saved state is looked at, a warmed Send stays a fraction of a ms)."""
        return len(canonical) - common_prefix(self.kv.tokens, canonical) < LONG_READ

    def _candidate(
        self, saved: SavedState | None, prompt: bytes, canonical: list[int]
    ) -> _Candidate | None:
        """A saved state, its bookkeeping and how much of the prompt it holds."""
        if saved is None:
            return None
        kv = KVContext(list(saved.tokens), list(saved.pieces))
        return _Candidate(saved, kv, self._reusable(kv, prompt, canonical))

    def _keep_before_cut(self, key: str, saved: SavedState | None) -> None:
        """Keep the conversation's latest state (``saved``, or the context's) as the one a
        long read left."""
        if saved is None:
            saved = self.current_saved() or self._snapshot()
        else:
            self.states.discard(key)  # moved: the next save puts the new state there
        self.states.put(key + BEFORE_CUT, saved)

    def _restore(self, candidate: _Candidate) -> str:
        """Put a saved state into the KV cache."""
        if self.model.restore_sequence(candidate.saved.data):
            self.kv, self.checkpoint = candidate.kv, candidate.saved.checkpoint
            return "saved"
        self.kv.clear()
        return "none"

    def keep_current(self) -> None:
        """Idle time: save the current conversation's state in RAM now, where states are
        kept (a switch happened) and it changed since its last save."""
        if self.key is None or not len(self.kv) or not len(self.states) or self.current_saved():
            return
        self.states.put(self.key, self._snapshot())

    def current_saved(self) -> SavedState | None:
        """The current conversation's saved state if it holds just what the context holds."""
        saved = None if self.key is None else self.states.peek(self.key)
        if saved is None or len(saved.tokens) != len(self.kv):
            return None
        same = saved.tokens == tuple(self.kv.tokens) and saved.pieces == tuple(self.kv.pieces)
        return saved if same else None

    def _snapshot(self) -> SavedState:
        data = self.model.save_sequence()  # kept as it is: no second copy of ~100 MB
        return SavedState(tuple(self.kv.tokens), data, tuple(self.kv.pieces), self.checkpoint)

    def _save_current(self, wait: bool) -> None:
        """Keep the current conversation's state in RAM (unless idle time already did) and
        (in the background) on disk."""
        if self.key is None or not len(self.kv):
            return
        state = self.current_saved() or self._snapshot()
        self.states.put(self.key, state)
        if self.disk is not None and not self.key.startswith(RAM_ONLY_KEY):
            written = self._writer.submit(self.disk.save, self.key, state)
            if wait:
                written.result()

    def _from_disk(self, key: str) -> SavedState | None:
        if self.disk is None or key.startswith(RAM_ONLY_KEY):
            return None
        state = self.disk.load(key)
        if state is not None:
            self.states.put(key, state)
        return state

    def close(self) -> None:
        """Before the model goes: write the current conversation's state, finish writes."""
        self._save_current(wait=True)
        self._writer.shutdown(wait=True)
        self.states.clear()

    def _plan(
        self, prompt: bytes, canonical: list[int], tokenize_from: Callable[[int], list[int]]
    ) -> tuple[list[int], int]:
        """The tokens to use: the cached ones that spell the prompt's start, then the rest."""
        by_tokens = common_prefix(self.kv.tokens, canonical)
        if by_tokens == len(self.kv):  # every cached token is kept: text cannot keep more
            return canonical, by_tokens
        count, offset = self.kv.match_text(prompt)
        if count <= by_tokens:
            return canonical, by_tokens
        # the cached tokens spell the whole prompt (a warmed one): nothing is left to read
        rest = tokenize_from(offset) if offset < len(prompt) else []
        tokens = self.kv.tokens[:count] + rest
        if len(tokens) > len(canonical) + 16:  # an odd split: prefer the canonical tokens
            return canonical, by_tokens
        return tokens, count

    def record_prompt(self, tokens: Sequence[int], checkpoint: bool = True) -> None:
        """Prompt tokens were evaluated after the kept prefix. A reply's prompt (not a warm
        or a stopped read: ``checkpoint`` False) takes the sliding-window model's window
        checkpoint at its end, what its regenerate goes back to, unless one is there (Send
        after a complete warm, which evaluates nothing)."""
        self.kv.extend(tokens, [self.model.piece(token, special=True) for token in tokens])
        point = self.checkpoint
        if not checkpoint or (point is not None and point.length == len(self.kv)):
            return
        window = self.model.save_window()
        self.checkpoint = None if window is None else Checkpoint(len(self.kv), window)

    def record_reply(self, tokens: Sequence[int]) -> None:
        """Generated tokens were evaluated; their text is as the reply shows it."""
        pieces = reply_pieces([self.model.piece(token) for token in tokens])
        self.kv.extend(tokens, pieces)

    def forget_after(self, keep: int) -> None:
        """An evaluation was interrupted: nothing after ``keep`` is reliable."""
        self._truncate(keep)

    def keep_evaluated(self, keep: int, tokens: Sequence[int]) -> None:
        """An evaluation after ``keep`` was cancelled once ``tokens`` (whole chunks) were
        evaluated: they stay where evaluation can go on after them (a window model's window
        layers still hold what the next token attends to), so a Send that cancels a warm
        reads only the rest; else nothing after ``keep`` is kept."""
        if tokens and self.model.truncate(keep + len(tokens)):
            self.record_prompt(tokens, checkpoint=False)
        else:
            self.forget_after(keep)
