"""A loaded model and its context, driven through llama.cpp's C API (llama_cpp bindings).

``LoadedModel`` owns the llama model, context and batches: tokenising, evaluating tokens
into the KV cache (in chunks, abortable), sampling with a sampler chain, token pieces for
the detokeniser, saving and restoring the KV cache of sequence 0, and freeing it all.
It knows nothing of conversations or the wire protocol (see ``engine``).

``logits_at`` is the KV position whose logits the context holds for sampling, set only
when a prompt's evaluation ends with that token evaluated alone (a batch of one gives
exactly what evaluating it alone again would give; a larger batch's logits differ a little
in llama.cpp's numerics) and forgotten by any other decode, by a truncation that drops
that position, and by clearing or restoring the cache: a prompt already evaluated to its
end (a warmed conversation) can then be answered without evaluating its last token again.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp

from chatdesk.engine.host.sampling import ChainSlot, SamplerChain
from chatdesk.engine.threads import ThreadGovernor

SEQ = 0  # the one sequence we use
PIECE_BUFFER = 256


class DecodeCancelled(Exception):
    """Evaluation stopped because the reply was cancelled; ``evaluated``: where the tokens
    evaluated in whole chunks end (``LoadedModel.evaluate``; -1 elsewhere)."""

    def __init__(self, evaluated: int = -1) -> None:
        super().__init__()
        self.evaluated = evaluated


class DecodeFailed(Exception):
    """llama_decode reported an error (e.g. the context is full)."""

    def __init__(self, message: str, context_full: bool = False) -> None:
        super().__init__(message)
        self.context_full = context_full


class LoadFailed(Exception):
    """llama.cpp could not load the model or create its context."""


@dataclass(frozen=True)
class BatchCheck:
    """Whether a batch of ``size`` tokens gives exactly the logits of single evaluations,
    and its cost in single evaluations (``cost``; ``size`` would mean no gain at all)."""

    exact: bool
    size: int
    cost: float

    @property
    def slope(self) -> float:
        """The cost of each token beyond the first, in single evaluations."""
        return max(self.cost - 1.0, 0.0) / max(self.size - 1, 1)


@dataclass(frozen=True)
class ContextParams:
    """How the context is created."""

    n_ctx: int
    n_batch: int
    n_threads: int
    n_threads_batch: int
    flash_attn: bool | None
    adaptive_threads: bool = False  # re-choose threads from others' CPU use (engine/threads.py)
    n_ubatch: int | None = None  # micro-batch size (default: n_batch)
    window_cache: bool = True  # sliding-window layers keep about their window (see module)


def cpu_has_amx() -> bool:
    """Whether llama.cpp's CPU backend would use its AMX kernels on this machine."""
    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    return "AMX_INT8 = 1" in info


def model_params(n_gpu_layers: int, repack: bool = True) -> llama_cpp.llama_model_params:
    """Model parameters; llama.cpp's "extra" CPU weight layouts (repacked weights) off when
    ``repack`` is False, and always where AMX is present.

    Measured here: with the AMX layout every Q8_0 model crashes llama.cpp (SIGSEGV in the
    first llama_decode, plain llama-cpp-python included); the plain CPU layout works.
    """
    params = llama_cpp.llama_model_default_params()
    params.n_gpu_layers = n_gpu_layers
    if not repack or cpu_has_amx():
        params.use_extra_bufts = False
    return params


def open_model(path: str, n_gpu_layers: int, repack: bool = True) -> ctypes.c_void_p:
    """llama_model_load_from_file, raising ``LoadFailed`` on NULL."""
    params = model_params(n_gpu_layers, repack)
    model = llama_cpp.llama_model_load_from_file(os.fsencode(path), params)
    if not model:
        raise LoadFailed("llama.cpp could not load the model")
    return model


class LoadedModel:
    """A model with one context; not thread-safe (the host's worker thread owns it)."""

    def __init__(self, model: ctypes.c_void_p, params: ContextParams) -> None:
        self.model = model
        self.vocab = llama_cpp.llama_model_get_vocab(model)
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = params.n_ctx
        cparams.n_batch = params.n_batch
        cparams.n_ubatch = min(params.n_ubatch or params.n_batch, params.n_batch)
        cparams.n_seq_max = 1
        cparams.swa_full = not params.window_cache
        cparams.n_threads = params.n_threads
        cparams.n_threads_batch = params.n_threads_batch
        cparams.flash_attn_type = {
            None: llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO,
            True: llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED,
            False: llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED,
        }[params.flash_attn]
        self.ctx = llama_cpp.llama_init_from_model(model, cparams)
        if not self.ctx:
            llama_cpp.llama_model_free(model)
            raise LoadFailed("llama.cpp could not create a context of this size")
        self.params = params
        self.n_ctx = int(llama_cpp.llama_n_ctx(self.ctx))
        self.n_batch = params.n_batch
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self._memory = llama_cpp.llama_get_memory(self.ctx)
        # the sliding window of the model's window layers, where their cache keeps only about
        # the window (0: no such layers, or they keep the whole context)
        self.n_swa = int(llama_cpp.llama_model_n_swa(model)) if params.window_cache else 0
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self._one = llama_cpp.llama_batch_init(1, 0, 1)
        self._one.n_tokens = 1
        self._one.n_seq_id[0] = 1
        self._one.seq_id[0][0] = SEQ
        self._one.logits[0] = 1
        self._pieces: dict[int, bytes] = {}
        self._special_pieces: dict[int, bytes] = {}
        self._eog: dict[int, bool] = {}
        self._eog_list: list[int] | None = None
        self._piece_buffer = ctypes.create_string_buffer(PIECE_BUFFER)
        self._cancel: threading.Event | None = None
        self._abort_callback = llama_cpp.ggml_abort_callback(self._should_abort)
        self._governor = ThreadGovernor(params.n_threads) if params.adaptive_threads else None
        self.threads = params.n_threads
        # The thread count at which a batch's logits can equal single tokens' (None: any).
        # On CPU only one: with two threads llama.cpp's flash attention splits a single
        # token's keys across the threads (not a batch's) once the context is a few hundred
        # tokens long, so the sums differ (measured: exact at depth ~100, not at 300).
        self.exact_threads: int | None = 1
        self._closed = False
        self.logits_at: int | None = None  # the position whose logits sampling would read
        self.chain_slot = ChainSlot()  # each reply's samplers go in it (sampling.py)

    # -- facts ----------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A metadata value as text (None if absent)."""
        size = llama_cpp.llama_model_meta_val_str(self.model, key.encode(), None, 0)
        if size < 0:
            return None
        buffer = ctypes.create_string_buffer(size + 1)
        llama_cpp.llama_model_meta_val_str(self.model, key.encode(), buffer, size + 1)
        return buffer.value.decode("utf-8", errors="replace")

    def token_text(self, token: int) -> str:
        """A token's spelling in the vocabulary (for BOS/EOS in templates)."""
        if token < 0:
            return ""
        raw = llama_cpp.llama_vocab_get_text(self.vocab, token)
        return raw.decode("utf-8", errors="replace") if raw else ""

    def eog_tokens(self) -> list[int]:
        """End-of-generation tokens (EOS, EOT and any the vocabulary marks as such).

        Found once per model: asking llama.cpp about every token of a 49k vocabulary costs
        about 65 ms, which every reply with end-of-generation suppressed used to pay before
        its first token.
        """
        if self._eog_list is None:
            is_eog, vocab = llama_cpp.llama_vocab_is_eog, self.vocab
            self._eog_list = [t for t in range(self.n_vocab) if is_eog(vocab, t)]
        return list(self._eog_list)

    def is_eog(self, token: int) -> bool:
        """True for end-of-generation tokens."""
        known = self._eog.get(token)
        if known is None:
            known = self._eog[token] = bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))
        return known

    # -- text <-> tokens ------------------------------------------------------------------

    def tokenize(self, text: str, add_special: bool, parse_special: bool = True) -> list[int]:
        """Tokens of ``text``; with ``parse_special`` spelled-out control tokens
        (``<|im_start|>``) become those tokens, else they are plain text."""
        data = text.encode("utf-8")
        capacity = len(data) + 8
        while True:
            tokens = (llama_cpp.llama_token * capacity)()
            count = llama_cpp.llama_tokenize(
                self.vocab, data, len(data), tokens, capacity, add_special, parse_special
            )
            if count >= 0:
                return list(tokens[:count])
            capacity = -count

    def add_bos(self) -> bool:
        """Whether the model wants a BOS token in front of a prompt."""
        return bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))

    def piece(self, token: int, special: bool = False) -> bytes:
        """The bytes a token stands for: in reply text control tokens are nothing,
        with ``special`` they are spelled out as in a prompt (``<|im_end|>``)."""
        cache = self._special_pieces if special else self._pieces
        known = cache.get(token)
        if known is None:
            size = llama_cpp.llama_token_to_piece(
                self.vocab, token, self._piece_buffer, PIECE_BUFFER, 0, special
            )
            known = self._piece_buffer.raw[: max(size, 0)]
            cache[token] = known
        return known

    # -- KV cache -------------------------------------------------------------------------

    def truncate(self, n_keep: int) -> bool:
        """Drop cached positions from ``n_keep`` on; False if the memory cannot do that, or
        if what is left cannot go on at ``n_keep`` (``window_holds``): the caller then
        clears the cache or restores a window checkpoint."""
        if self.logits_at is not None and self.logits_at >= n_keep:
            self.logits_at = None
        removed = bool(llama_cpp.llama_memory_seq_rm(self._memory, SEQ, n_keep, -1))
        return removed and self.window_holds(n_keep)

    def window_holds(self, n_keep: int) -> bool:
        """Whether the window layers still hold every position the token at ``n_keep``
        attends to (``n_keep - n_swa + 1`` on). Their cache reuses the cells of positions
        out of the window, so going back further than the cells spare loses those.
        (Also right for chunked windows, whose chunk never starts before that position.)"""
        if not self.n_swa or n_keep == 0:
            return True
        lowest = int(llama_cpp.llama_memory_seq_pos_min(self._memory, SEQ))
        return 0 <= lowest <= max(0, n_keep - self.n_swa + 1)

    def clear(self) -> None:
        """Empty the KV cache (its cells, not its buffers: zeroing them would write the whole
        context's memory, ~190 MB for the starter model at 8k, before every restore)."""
        self.logits_at = None
        llama_cpp.llama_memory_clear(self._memory, False)

    def save_sequence(self, flags: int = llama_cpp.LLAMA_STATE_SEQ_FLAGS_NONE) -> bytearray:
        """The KV cache contents of our sequence (only the cells in use); with
        ``LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY`` only the window layers' (see
        ``save_window``)."""
        size = int(llama_cpp.llama_state_seq_get_size_ext(self.ctx, SEQ, flags))
        data = bytearray(size)
        view = (ctypes.c_uint8 * size).from_buffer(data)
        written = int(llama_cpp.llama_state_seq_get_data_ext(self.ctx, view, size, SEQ, flags))
        del view
        return data[:written] if written != size else data

    def restore_sequence(
        self, data: bytes | bytearray, flags: int = llama_cpp.LLAMA_STATE_SEQ_FLAGS_NONE
    ) -> bool:
        """Replace the KV cache with ``save_sequence`` output; False if llama.cpp refused
        (the cache is then empty).

        Reads ``data`` in place (no copy: a long conversation's state is ~100 MB)."""
        partial = flags & llama_cpp.LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY
        if not partial:
            self.clear()
        size = len(data)
        if isinstance(data, bytearray):
            view: Any = (ctypes.c_uint8 * size).from_buffer(data)
        else:
            view = ctypes.cast(ctypes.c_char_p(data), ctypes.POINTER(ctypes.c_uint8))
        read = int(llama_cpp.llama_state_seq_set_data_ext(self.ctx, view, size, SEQ, flags))
        del view
        if read == 0:
            self.clear()
        return read != 0

    def save_window(self) -> bytearray | None:
        """A checkpoint of the window layers alone (None without a window-sized cache):
        the cells in the window of the last position, a few MiB. Restored after going
        back to that position (or one before it), it gives them what going back lost."""
        if not self.n_swa:
            return None
        return self.save_sequence(llama_cpp.LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY)

    def restore_window(self, data: bytearray, n_keep: int) -> bool:
        """Truncate to ``n_keep`` and put back a ``save_window`` checkpoint; False (and the
        cache cleared) if that still cannot go on at ``n_keep``."""
        self.truncate(n_keep)
        flags = llama_cpp.LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY
        if self.restore_sequence(data, flags) and self.truncate(n_keep):
            return True
        self.clear()
        return False

    # -- evaluation -----------------------------------------------------------------------

    def warm_up(self) -> None:
        """Evaluate one token and drop it, as llama.cpp's own tools do after loading: the
        first prompt then does not pay for first touching the weights and buffers (about
        4% of a first 4k-token prompt on Gemma 3 270M at one thread; this costs ~20 ms)."""
        bos = int(llama_cpp.llama_vocab_bos(self.vocab))
        with contextlib.suppress(DecodeFailed):  # the first request says what is wrong
            self.evaluate_one(max(bos, 0), 0)
        self.clear()

    def _should_abort(self, _data: ctypes.c_void_p) -> bool:
        cancel = self._cancel
        return cancel is not None and cancel.is_set()

    def evaluate(
        self,
        tokens: Sequence[int],
        start: int,
        cancel: threading.Event | None = None,
        chunk: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Evaluate ``tokens`` at positions ``start``...; logits for the last one only.

        Processes chunks of ``chunk`` (default ``n_batch``) tokens; between chunks and,
        on CPU, inside a chunk (llama.cpp's abort callback) a set ``cancel`` stops it with
        ``DecodeCancelled``, whose ``evaluated`` is where the finished chunks end (the
        positions of the unfinished chunk are dropped). After each
        chunk ``progress(tokens done so far)`` is called. Returns the number of tokens now
        evaluated (``start + len(tokens)``).
        """
        step = min(chunk or self.n_batch, self.n_batch)
        position = start
        self._retune()
        if cancel is not None:
            self._cancel = cancel
            llama_cpp.llama_set_abort_callback(self.ctx, self._abort_callback, None)
        try:
            for offset in range(0, len(tokens), step):
                if cancel is not None and cancel.is_set():
                    raise DecodeCancelled()
                part = tokens[offset : offset + step]
                self._decode_chunk(part, position, last=offset + step >= len(tokens))
                position += len(part)
                if progress is not None:
                    progress(position - start)
        except DecodeCancelled:
            raise DecodeCancelled(position) from None
        finally:
            if cancel is not None:
                llama_cpp.llama_set_abort_callback(self.ctx, llama_cpp.ggml_abort_callback(), None)
                self._cancel = None
        return position

    def _decode_chunk(self, tokens: Sequence[int], start: int, last: bool) -> None:
        batch = self._fill_batch(tokens, start, every_logit=False)
        batch.logits[len(tokens) - 1] = 1 if last else 0
        self.logits_at = None
        self._check(llama_cpp.llama_decode(self.ctx, batch), start)
        if last and len(tokens) == 1:  # alone: what evaluating it again would give
            self.logits_at = start

    def _fill_batch(self, tokens: Sequence[int], start: int, every_logit: bool) -> Any:
        """The reusable batch holding ``tokens`` at positions from ``start``; logits asked
        for every one of them, or (``every_logit=False``) for none yet."""
        batch = self._batch
        batch.n_tokens = len(tokens)
        for index, token in enumerate(tokens):
            batch.token[index] = token
            batch.pos[index] = start + index
            batch.n_seq_id[index] = 1
            batch.seq_id[index][0] = SEQ
            batch.logits[index] = 1 if every_logit else 0
        return batch

    def evaluate_all(self, tokens: Sequence[int], start: int) -> None:
        """Evaluate a few tokens (at most ``n_batch``) in one batch with logits for every
        one of them (speculative decoding verifies drafts this way)."""
        if self._governor is not None and self._governor.due():
            self._retune()
        batch = self._fill_batch(tokens, start, every_logit=True)
        self.logits_at = None  # several outputs: index -1 is not the one a prompt asks for
        self._check(llama_cpp.llama_decode(self.ctx, batch), start)

    def batch_is_exact(self, tokens: Sequence[int], start: int) -> bool:
        """Whether evaluating ``tokens`` in one batch gives bit for bit the logits that
        evaluating them one at a time gives (at positions ``start``...; the cache is left
        as it was). Not so everywhere: llama.cpp picks other kernels for a batch (e.g. the
        repacked K-quant matrix kernels, or attention without flash attention on CPU)."""
        return self.check_batches(tokens, start, repeats=1).exact

    def check_batches(self, tokens: Sequence[int], start: int, repeats: int = 3) -> BatchCheck:
        """``batch_is_exact`` for each of ``repeats`` rounds, and what the batch cost: the
        median batch time over the median time of one token evaluated alone."""
        exact, singles, batches = True, [], []
        window = self.save_window()  # single tokens may take cells the window needs
        for _ in range(repeats):
            single_logits, seconds = [], 0.0
            for offset, token in enumerate(tokens):
                began = time.perf_counter()
                self.evaluate_one(token, start + offset)
                seconds += time.perf_counter() - began
                single_logits.append(self._logits_bytes(-1))
            singles.append(seconds / len(tokens))
            self.go_back(start, window)
            began = time.perf_counter()
            self.evaluate_all(tokens, start)
            batches.append(time.perf_counter() - began)
            exact &= single_logits == [self._logits_bytes(i) for i in range(len(tokens))]
            self.go_back(start, window)
        return BatchCheck(
            exact, len(tokens), statistics.median(batches) / statistics.median(singles)
        )

    def go_back(self, n_keep: int, window: bytearray | None = None) -> None:
        """Truncate to ``n_keep`` where evaluation can go on from there (putting back the
        ``window`` checkpoint taken at ``n_keep`` if need be); else ``DecodeFailed``."""
        if self.truncate(n_keep) or (window is not None and self.restore_window(window, n_keep)):
            return
        raise DecodeFailed(f"the window layers lost positions going back to {n_keep}")

    def _logits_bytes(self, index: int) -> bytes:
        pointer = llama_cpp.llama_get_logits_ith(self.ctx, index)
        return ctypes.string_at(pointer, self.n_vocab * ctypes.sizeof(ctypes.c_float))

    @property
    def batches_may_be_exact(self) -> bool:
        """Whether the thread count now in use is one where batches can be exact."""
        return self.exact_threads is None or self.threads == self.exact_threads

    def evaluate_one(self, token: int, position: int) -> None:
        """Evaluate one sampled token (the fast path of the decode loop)."""
        if self._governor is not None and self._governor.due():
            self._retune()
        one = self._one
        one.token[0] = token
        one.pos[0] = position
        self.logits_at = None  # a reply's token: the cache records no prompt ending here
        self._check(llama_cpp.llama_decode(self.ctx, one), position)

    def _retune(self) -> None:
        """Follow the governor's thread count (about once a second, when adaptive)."""
        governor = self._governor
        if governor is None or not governor.due():
            return
        threads = governor.choose()
        if threads != self.threads:
            self.threads = threads
            llama_cpp.llama_set_n_threads(self.ctx, threads, threads)

    def _check(self, status: int, start: int) -> None:
        if status == 0:
            return
        self.truncate(start)
        if status == 2:
            raise DecodeCancelled()
        if status == 1:
            raise DecodeFailed("the context is full", context_full=True)
        raise DecodeFailed(f"llama_decode failed with status {status}")

    def sample(self, chain: SamplerChain, index: int = -1) -> int:
        """Sample the next token from the logits of batch entry ``index`` (default: the
        last one); the chain records it."""
        return int(llama_cpp.llama_sampler_sample(chain.pointer, self.ctx, index))

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Free the context, batches and model (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.chain_slot.close()
        llama_cpp.llama_batch_free(self._batch)
        llama_cpp.llama_batch_free(self._one)
        llama_cpp.llama_free(self.ctx)
        llama_cpp.llama_model_free(self.model)
        self._pieces.clear()
