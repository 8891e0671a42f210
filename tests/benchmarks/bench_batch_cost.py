"""What verifying k drafted tokens costs: one batch of k tokens against one token, per model.

    python tests/benchmarks/bench_batch_cost.py [--models starter,gemma] [--threads 1,2]
                                               [--rounds 15] [--max-k 16] [--no-repack]
                                               [--flash-attn on|off]

Speculative decoding pays only when a batch of 1 + k tokens (logits for every one of them)
costs much less than 1 + k single evaluations. For each model this loads the model the way
the engine host does (``LoadedModel``, flash attention on), evaluates a ~300-token prompt,
then times at that depth, in interleaved rounds (every round visits every k in a shuffled
order), a single token and batches of k = 2..``max-k`` with every logit, and the same
batches with the last logit only (what the output layer's share of the cost is). It also
checks bit for bit that a batch gives the logits of single evaluations (the condition for
exact speculative decoding) at several sizes and depths. ``--no-repack`` loads without
llama.cpp's repacked CPU weight layouts (``use_extra_bufts = False``); ``--flash-attn off``
loads the context without flash attention.

Prints per k: median milliseconds, spread, cost relative to one token; then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.engine.host.model import ContextParams, LoadedModel, open_model
from tests.support.real_model import REAL_MODELS, starter_model

TEXT = (
    "def order_total(items, tax_rate):\n    total = 0\n    for item in items:\n"
    "        price = item['price'] * item['quantity']\n        total = total + price\n"
    "    return round(total + total * tax_rate, 2)\n"
) * 6


def timed(model: LoadedModel, tokens: list[int], start: int, every: bool) -> float:
    """Seconds to evaluate ``tokens`` at ``start`` (then dropped from the cache)."""
    began = time.perf_counter()
    if len(tokens) == 1:
        model.evaluate_one(tokens[0], start)
    elif every:
        model.evaluate_all(tokens, start)
    else:
        model.evaluate(tokens, start)
    seconds = time.perf_counter() - began
    model.truncate(start)
    return seconds


def exactness(model: LoadedModel, prompt: list[int], depth: int) -> dict[str, bool]:
    """Batch vs single logits, bit for bit, for a few batch sizes and tokens."""
    found = {}
    for size in (2, 5, 8, 13, 16):
        for offset in (0, 100):
            tokens = prompt[offset : offset + size]
            found[f"{size}+{offset}"] = model.batch_is_exact(tokens, depth)
    return found


def measure(path: str, threads: int, args: argparse.Namespace) -> dict[str, Any]:
    """Timings and exactness for one model at one thread count."""
    raw = open_model(path, 0, repack=not args.no_repack)
    params = ContextParams(
        n_ctx=2048,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        flash_attn=args.flash_attn == "on",
    )
    model = LoadedModel(raw, params)
    try:
        prompt = model.tokenize(TEXT, add_special=True)[:300]
        depth = model.evaluate(prompt, 0)
        exact = exactness(model, prompt, depth)
        sizes = list(range(1, args.max_k + 1))
        every: dict[int, list[float]] = {k: [] for k in sizes}
        last: dict[int, list[float]] = {k: [] for k in sizes}
        for _ in range(args.rounds):
            order = sizes[:]
            random.shuffle(order)
            for k in order:
                tokens = prompt[:k]
                every[k].append(timed(model, tokens, depth, True))
                if k > 1:
                    last[k].append(timed(model, tokens, depth, False))
        single = statistics.median(every[1])
        rows = {}
        for k in sizes:
            ms = statistics.median(every[k]) * 1000
            row = {
                "ms": ms,
                "spread": [min(every[k]) * 1000, max(every[k]) * 1000],
                "cost": ms / (single * 1000),
            }
            if last[k]:
                row["last_only_cost"] = statistics.median(last[k]) / single
            rows[k] = row
            extra = f"  last-only {row['last_only_cost']:.2f}" if last[k] else ""
            print(
                f"  k={k:2d} {ms:7.2f} ms ({row['spread'][0]:.2f}-{row['spread'][1]:.2f})"
                f"  cost {row['cost']:.2f}{extra}",
                flush=True,
            )
        return {"threads": threads, "exact": exact, "rows": rows}
    finally:
        model.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="starter,gemma")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--max-k", type=int, default=16)
    parser.add_argument("--no-repack", action="store_true")
    parser.add_argument("--flash-attn", choices=("on", "off"), default="on")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "loadavg_before": os.getloadavg(),
        "repack": not args.no_repack,
        "flash_attn": args.flash_attn,
    }
    for name in args.models.split(","):
        path, why_not = starter_model(REAL_MODELS[name])
        if path is None:
            print(f"{name}: skipped ({why_not})")
            continue
        for threads in (int(t) for t in args.threads.split(",")):
            print(f"{name}, {threads} thread(s), repack {not args.no_repack}:", flush=True)
            figures = measure(str(path), threads, args)
            print(f"  exact: {figures['exact']}", flush=True)
            result[f"{name}/{threads}"] = figures
    result["loadavg_after"] = os.getloadavg()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
