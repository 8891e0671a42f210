"""Which grammar engine: llama.cpp's grammar sampler against llguidance, measured.

    python tests/benchmarks/bench_structured_engines.py [--repeats 5]
    (llguidance is not a ChatDesk dependency: install it into a folder and pass
     --llguidance-path FOLDER to include it, e.g. pip install --target /tmp/llg llguidance)

On the real starter model's vocabulary (49,152 tokens), for the same schemas and the same
valid documents (teacher-forced: the document's own tokens, one at a time), it measures per
generated token the cost of constraining: llama.cpp applies its grammar sampler to the full
candidate array (what ChatDesk's sampler chain does), llguidance computes its token bitmask;
and the compile time (schema -> grammar -> a ready sampler / matcher). The reference is the
model's own decode time per token, measured in the same run (``llama_decode`` of one token).
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import llama_cpp
import numpy as np

from chatdesk.engine.constrain import compile_schema
from tests.support.real_model import starter_model

QUIET = llama_cpp.llama_log_callback(lambda *_: None)  # kept alive: llama.cpp calls it
TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])
TWENTY = {
    "type": "object",
    "properties": {f"field_{i}": {"type": "string", "maxLength": 40} for i in range(20)},
    "required": [f"field_{i}" for i in range(20)],
    "additionalProperties": False,
}
CASES: list[tuple[dict[str, Any], Any]] = [
    (TWENTY, {f"field_{i}": f"value number {i}" for i in range(20)}),
    (
        {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer",
         "minimum": 0, "maximum": 150}, "tags": {"type": "array", "items": {"type": "string"}}},
         "required": ["name", "age", "tags"], "additionalProperties": False},
        {"name": "Ada Lovelace", "age": 36, "tags": ["mathematician", "writer", "analyst"]},
    ),
]  # fmt: skip


class Vocab:
    """The starter model's vocabulary (no weights) and a full candidate array."""

    def __init__(self, path: Path) -> None:
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self.data = np.zeros(self.n_vocab, dtype=TOKEN_DATA)
        pointer = self.data.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_token_data))
        self.array = llama_cpp.llama_token_data_array(
            data=pointer, size=self.n_vocab, selected=-1, sorted=False
        )
        self.ids = np.arange(self.n_vocab, dtype=np.int32)

    def tokens(self, text: str) -> list[int]:
        data = text.encode()
        buffer = (llama_cpp.llama_token * (len(data) + 8))()
        count = llama_cpp.llama_tokenize(
            self.vocab, data, len(data), buffer, len(buffer), False, False
        )
        return list(buffer[:count])


def llama_per_token(vocab: Vocab, gbnf: str, tokens: list[int]) -> float:
    """Seconds per token: full-vocabulary grammar apply + accept along ``tokens``."""
    sampler = llama_cpp.llama_sampler_init_grammar(vocab.vocab, gbnf.encode(), b"root")
    started = time.perf_counter()
    for token in tokens:
        vocab.data["id"] = vocab.ids
        vocab.data["logit"] = 0.0
        vocab.array.size, vocab.array.selected, vocab.array.sorted = vocab.n_vocab, -1, False
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(vocab.array))
        assert vocab.data["logit"][token] > -1e30, "the grammar rejected the document"
        llama_cpp.llama_sampler_accept(sampler, token)
    elapsed = time.perf_counter() - started
    llama_cpp.llama_sampler_free(sampler)
    return elapsed / len(tokens)


def llama_compile(vocab: Vocab, schema: dict[str, Any]) -> float:
    started = time.perf_counter()
    gbnf = compile_schema(schema).grammar
    sampler = llama_cpp.llama_sampler_init_grammar(vocab.vocab, gbnf.encode(), b"root")
    elapsed = time.perf_counter() - started
    llama_cpp.llama_sampler_free(sampler)
    return elapsed


def llguidance_figures(vocab: Vocab, cases: list[tuple[dict[str, Any], Any]]) -> dict[str, Any]:
    import llguidance
    from llguidance.llamacpp import lltokenizer_from_vocab

    tokenizer = lltokenizer_from_vocab(vocab.vocab)
    per_token, compile_s = [], []
    for schema, document in cases:
        started = time.perf_counter()
        grammar = llguidance.LLMatcher.grammar_from_json_schema(schema)
        matcher = llguidance.LLMatcher(tokenizer, grammar)
        compile_s.append(time.perf_counter() - started)
        tokens = vocab.tokens(json.dumps(document))
        started = time.perf_counter()
        for token in tokens:
            mask = np.frombuffer(matcher.compute_bitmask(), dtype=np.uint32)
            assert mask[token // 32] >> (token % 32) & 1, matcher.get_error()
            matcher.consume_token(token)
        per_token.append((time.perf_counter() - started) / len(tokens))
    return {
        "per_token_ms": [t * 1000 for t in per_token],
        "compile_ms": [c * 1000 for c in compile_s],
    }


def decode_per_token(path: Path, count: int = 32) -> float:
    """The model's own decode time per token (one-token batches), for reference."""
    model = llama_cpp.llama_model_load_from_file(
        str(path).encode(), llama_cpp.llama_model_default_params()
    )
    params = llama_cpp.llama_context_default_params()
    params.n_ctx, params.n_threads, params.n_threads_batch = 512, 2, 2
    ctx = llama_cpp.llama_init_from_model(model, params)
    batch = llama_cpp.llama_batch_init(1, 0, 1)
    started = time.perf_counter()
    for position in range(count):
        batch.n_tokens = 1
        batch.token[0], batch.pos[0], batch.n_seq_id[0] = 100 + position, position, 1
        batch.seq_id[0][0], batch.logits[0] = 0, True
        llama_cpp.llama_decode(ctx, batch)
    elapsed = time.perf_counter() - started
    llama_cpp.llama_batch_free(batch)
    llama_cpp.llama_free(ctx)
    llama_cpp.llama_model_free(model)
    return elapsed / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--llguidance-path", type=Path)
    args = parser.parse_args()
    path, why_not = starter_model()
    if path is None:
        sys.exit(f"no starter model: {why_not}")
    llama_cpp.llama_log_set(QUIET, ctypes.c_void_p(0))
    vocab = Vocab(path)
    figures: dict[str, Any] = {"decode_ms_per_token": decode_per_token(path) * 1000}
    per_token = [[llama_per_token(vocab, compile_schema(s).grammar, vocab.tokens(json.dumps(d)))
                  for _ in range(args.repeats)] for s, d in CASES]  # fmt: skip
    compiles = [[llama_compile(vocab, s) for _ in range(args.repeats)] for s, _ in CASES]
    figures["llama_cpp"] = {
        "per_token_ms": [statistics.median(p) * 1000 for p in per_token],
        "compile_ms": [statistics.median(c) * 1000 for c in compiles],
    }
    if args.llguidance_path:
        sys.path.insert(0, str(args.llguidance_path))
        figures["llguidance"] = llguidance_figures(vocab, CASES)
    for name in ("llama_cpp", "llguidance"):
        if name in figures:
            cost = figures[name]["per_token_ms"]
            print(f"{name:11s} per token {', '.join(f'{c:.3f}' for c in cost)} ms   compile "
                  f"{', '.join(f'{c:.1f}' for c in figures[name]['compile_ms'])} ms")  # fmt: skip
    print(f"model decode {figures['decode_ms_per_token']:.2f} ms per token (reference)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
