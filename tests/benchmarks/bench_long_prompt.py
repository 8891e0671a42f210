"""Long prompts: the engine host's prompt evaluation against llama-bench, same batch sizes.

    python tests/benchmarks/bench_long_prompt.py [--model gemma] [--lengths 4096,16384,32768]
                                                 [--batch 512] [--ubatch 512] [--threads 1]
                                                 [--repeats 2] [--flash-attn 1]
                                                 [--sweep 512x512,2048x512,...]

For each prompt length a fresh engine host loads the model (Gemma 3 270M by default: it has
a 32k context) with a context just larger than the prompt, the given ``n_batch`` /
``n_ubatch``, threads and flash attention, and evaluates a text completion of that many
tokens (a repeated filler text tokenised by the host, so the count is exact); then
llama.cpp's ``llama-bench`` (see chatdesk/cli/llama_bench.py; built by
scripts/build_llama_bench.py) evaluates a prompt of the same length with the same ``-b``,
``-ub``, ``-t`` and ``-fa``. The sides take turns, the order reversed each round. The host's
figure is what a user waits for: evaluated tokens over the time from the request to the end
of the prompt (tokenising included). It also checks the progress events a long prompt
sends: they rise to the total and the last one arrives with the prompt's end.
Target: >= 0.97x llama-bench at every length. Besides the ratio of the medians it prints
the median of the paired ratios (each host round against the llama-bench round next to it,
which ran under the same load). The last line is one JSON object.

``--sweep BxUB,...`` chooses the batch sizes by measurement instead: llama-bench alone runs
every ``n_batch`` x ``n_ubatch`` pair at every length, in rounds that visit the pairs in a
shuffled order, and prints each pair's median rate against the current default (512x512).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.cli.llama_bench import find_llama_bench, parse_rate
from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest, Message
from chatdesk.engine.types import EngineError, LoadOptions, PromptProgress, SamplingSettings
from tests.support.real_model import REAL_MODELS, starter_model

FILLER = "The quick brown fox jumps over the lazy dog while the assistant reads a long file. "


def host_round(path: str, text: str, length: int, args: argparse.Namespace) -> dict[str, Any]:
    """One host load and one prompt ``text`` of about ``length`` tokens: its rate and
    progress events."""
    client = EngineClient(auto_reload=False)
    try:
        options = LoadOptions(
            path,
            n_ctx=length + 256,
            n_threads=args.threads,
            n_batch=args.batch,
            n_ubatch=args.ubatch,
            flash_attn=bool(args.flash_attn),
        )
        client.load(options).result(timeout=300)
        events: list[tuple[float, PromptProgress]] = []
        stream = client.complete(text, SamplingSettings(max_tokens=1))
        stream.on_event(
            lambda e: (
                events.append((time.perf_counter(), e)) if isinstance(e, PromptProgress) else None
            )
        )
        stats = stream.wait(timeout=3600)
        return {
            "tokens": stats.evaluated_prompt_tokens,
            "rate": stats.prompt_tokens_per_second,
            "seconds": stats.prompt_seconds,
            "progress": progress_check(events, stats),
        }
    finally:
        client.close()


def prompt_text(path: str, length: int) -> str:
    """Filler text of about ``length`` tokens (by the model's tokenizer, through render)."""
    client = EngineClient(auto_reload=False)
    try:
        client.load(LoadOptions(path, n_ctx=length + 512, n_threads=1)).result(timeout=300)
        return fit(client, FILLER * (length // 8), length)
    finally:
        client.close()


def fit(client: EngineClient, text: str, length: int) -> str:
    """``text`` cut to about ``length`` tokens (by the model's tokenizer, through render)."""
    words = text.split(" ")
    low, high = 1, len(words)
    while low < high:  # binary search on the word count
        middle = (low + high + 1) // 2
        if token_count(client, " ".join(words[:middle])) <= length:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low])


def token_count(client: EngineClient, text: str) -> int:
    """Tokens of ``text`` as a one-message prompt (close enough to size the completion)."""
    request = ChatRequest((Message.of("user", text),), sampling=SamplingSettings(max_tokens=1))
    try:
        return client.render(request).result().tokens
    except EngineError:  # more than the context holds
        return sys.maxsize


def progress_check(events: list[tuple[float, PromptProgress]], stats: Any) -> dict[str, Any]:
    """Whether the progress events rose to the total, and how many came."""
    values = [e.evaluated for _t, e in events]
    return {
        "events": len(values),
        "rising": values == sorted(values),
        "reached_total": bool(values) and values[-1] == events[-1][1].total,
        "total": events[-1][1].total if events else None,
    }


def llama_bench_rate(
    binary: Path, path: str, length: int, args: argparse.Namespace, sizes: tuple[int, int]
) -> float:
    """llama-bench's prompt tokens/s for ``length`` tokens with batch sizes ``sizes``."""
    command = [
        str(binary),
        "-m",
        path,
        "-t",
        str(args.threads),
        "-ngl",
        "0",
        "-b",
        str(sizes[0]),
        "-ub",
        str(sizes[1]),
        "-fa",
        str(args.flash_attn),
        "-p",
        str(length),
        "-n",
        "0",
        "-r",
        "1",
        "-o",
        "json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_rate(done.stdout)


def sweep(binary: Path, path: str, length: int, args: argparse.Namespace) -> dict[str, Any]:
    """llama-bench's rate for every batch x micro-batch pair, in shuffled interleaved rounds."""
    pairs = [tuple(int(n) for n in pair.split("x")) for pair in args.sweep.split(",")]
    rates: dict[str, list[float]] = {f"{b}x{ub}": [] for b, ub in pairs}
    for _ in range(args.repeats):
        random.shuffle(pairs)
        for b, ub in pairs:
            rates[f"{b}x{ub}"].append(llama_bench_rate(binary, path, length, args, (b, ub)))
    medians = {pair: statistics.median(values) for pair, values in rates.items()}
    reference = medians.get("512x512") or max(medians.values())
    for pair, rate in sorted(medians.items(), key=lambda item: -item[1]):
        spread = f"{min(rates[pair]):.1f}-{max(rates[pair]):.1f}"
        print(f"  {length} tokens {pair:>10}: {rate:7.1f} tok/s ({spread}) {rate / reference:.3f}x")
    return {"rates": rates, "medians": medians, "best": max(medians, key=medians.__getitem__)}


def compare(binary: Path, path: str, length: int, args: argparse.Namespace) -> dict[str, Any]:
    """Host and llama-bench rounds, alternating, for one prompt length."""
    text = prompt_text(path, length)
    host: list[float] = []
    cpp: list[float] = []
    checks = []
    for number in range(args.repeats):
        for side in ("host", "cpp") if number % 2 == 0 else ("cpp", "host"):
            if side == "host":
                figures = host_round(path, text, length, args)
                host.append(figures["rate"])
                checks.append(figures)
            else:
                cpp.append(llama_bench_rate(binary, path, length, args, (args.batch, args.ubatch)))
    ratio = statistics.median(host) / statistics.median(cpp)
    paired = statistics.median(h / c for h, c in zip(host, cpp, strict=True))
    print(
        f"{length} tokens: host {statistics.median(host):.1f} tok/s {host}, llama-bench "
        f"{statistics.median(cpp):.1f} {cpp}: ratio {ratio:.3f}, paired {paired:.3f}; load "
        f"{os.getloadavg()[0]:.1f}; progress {checks[-1]['progress']}",
        flush=True,
    )
    return {"host": host, "llama_bench": cpp, "ratio": ratio, "paired": paired, "checks": checks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma")
    parser.add_argument("--lengths", default="4096,16384,32768")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--ubatch", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--flash-attn", type=int, default=1)
    parser.add_argument("--sweep", default="", help="BxUB pairs for llama-bench alone")
    args = parser.parse_args()
    path, why_not = starter_model(REAL_MODELS[args.model])
    binary = find_llama_bench()
    if path is None or binary is None:
        sys.exit(f"cannot run: {why_not or 'llama-bench not built'}")
    result: dict[str, Any] = {"loadavg_before": os.getloadavg(), "args": vars(args)}
    for length in (int(n) for n in args.lengths.split(",")):
        run = sweep if args.sweep else compare
        result[str(length)] = run(binary, str(path), length, args)
    result["loadavg_after"] = os.getloadavg()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
