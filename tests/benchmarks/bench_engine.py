"""Engine benchmarks: every figure a ratio against a reference measured in the same run.

    python tests/benchmarks/bench_engine.py [--tokens 2000] [--repeats 3] [--models starter,tiny]
                                            [--threads N] [--compare-threads 1,2]

Figures are medians of interleaved rounds (host, plain loop, llama-bench, host, ...) with
their spread (lowest-highest); the load average is printed with them.

1. Speed, per model (the real starter model SmolLM2-135M-Instruct Q4_1, the generated tiny
   one, optionally the generated real-shape one): ``chatdesk bench``'s rounds (see
   chatdesk/cli/bench.py). Targets on the starter model at 2,000 tokens: decode >= 0.97x the
   plain ``Llama.generate()`` loop and >= 0.95x llama-bench; prompt >= 0.95x llama-bench;
   launch-to-first-token <= 1.5x plain load + time to first token.
2. Threads: prompt and decode tokens/s of the host and of llama-bench at each thread count.
3. KV reuse: a second turn evaluates only its new tokens (counts printed).
4. Conversation switch: TTFT of a turn in A (about 4000 tokens of history) right after a
   turn in B, against continuing A directly. Target: <= 2x.
5. Load: host start + load, load into an already started host (what the window does: it
   starts the host at launch), a plain in-process ``Llama()`` and a fresh plain process
   (start + import + ``Llama()``). Target: <= 1.5x.
6. Memory: resident memory of the host with the model loaded, of a plain in-process load,
   of this (client) process, and the model file size.

``llama-bench`` is used when built (``python scripts/build_llama_bench.py``). The last line
printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.cli.bench import result_of, run_rounds
from chatdesk.cli.bench_runs import BenchPlan, measure_host, measure_reference
from chatdesk.cli.llama_bench import find_llama_bench, run_llama_bench
from chatdesk.engine.client import EngineClient
from chatdesk.engine.host.memory import resident_memory
from chatdesk.engine.threads import threads_now
from chatdesk.engine.types import LoadOptions, ReplyStats, SamplingSettings
from tests.benchmarks.bench_gguf_metadata import default_model
from tests.support.chat_requests import chat
from tests.support.gguf_factory import ModelSpec, write_model
from tests.support.real_model import scratch_data_root, starter_model

PROMPT_TOKENS = 256
FILLER = "The quick brown fox jumps over the lazy dog while the assistant answers a question. "
HISTORY_SENTENCE = "Conversation {name} goes on about the sea, the stars and the little model. "
MB = 1024**2


def bench_models(names: list[str], folder: Path) -> dict[str, Path]:
    """The requested models: starter (real), tiny and real-shape (generated)."""
    models: dict[str, Path] = {}
    for name in names:
        if name == "starter":
            path, why_not = starter_model()
            if path is None:
                print(f"skipping the starter model: {why_not}", flush=True)
                continue
            models[name] = path
        elif name == "tiny":
            models[name] = write_model(folder / "tiny.gguf", ModelSpec(context_length=8192))
        elif name == "real-shape":
            models[name] = default_model()  # generated once, kept under the temp folder
    return models


def loaded_client(path: Path, n_ctx: int, threads: int) -> EngineClient:
    client = EngineClient(auto_reload=False)
    client.load(LoadOptions(path, n_ctx=n_ctx, n_threads=threads)).result()
    return client


def median_spread(values: list[float]) -> str:
    """'median (low-high)'."""
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


# -- 1. speed -------------------------------------------------------------------------------


def speed(path: Path, tokens: int, repeats: int, threads: int) -> dict[str, Any]:
    """``chatdesk bench``'s interleaved rounds on one model; its JSON result."""
    plan = BenchPlan(str(path), PROMPT_TOKENS, tokens, threads, 0)
    binary = find_llama_bench()
    result = result_of(plan, run_rounds(plan, repeats, binary, quiet=False), binary)
    host, plain = result["host"], result["plain"]
    print(f"  decode host/plain {result['ratio']:.3f} (target >= 0.97)")
    print(f"  prompt host/plain {result['prompt_ratio']:.3f}")
    print(
        f"  launch to first token: host {host['first_token_seconds']:.3f} s, plain load + "
        f"first token {plain['first_token_seconds']:.3f} s: {result['first_token_ratio']:.2f}x "
        "(target <= 1.5)"
    )
    cpp = result.get("llama_bench")
    if cpp:
        print(
            f"  against llama-bench: decode {cpp['decode_ratio']:.3f} (target >= 0.95), "
            f"prompt {cpp['prompt_ratio']:.3f} (target >= 0.95)",
            flush=True,
        )
    return result


# -- 2. threads -----------------------------------------------------------------------------


def thread_counts(path: Path, tokens: int, repeats: int, counts: list[int]) -> dict[str, Any]:
    """Host and llama-bench prompt/decode tokens/s per thread count, interleaved."""
    binary = find_llama_bench()
    plans = {n: BenchPlan(str(path), PROMPT_TOKENS, tokens, n, 0) for n in counts}
    figures: dict[str, dict[str, list[float]]] = {str(n): {} for n in counts}
    for _ in range(repeats):
        for n, plan in plans.items():
            host = measure_host(plan)
            row = figures[str(n)]
            row.setdefault("host_prompt", []).append(host.prompt_tokens_per_second)
            row.setdefault("host_decode", []).append(host.decode_tokens_per_second)
            if binary is not None:
                cpp = run_llama_bench(
                    binary,
                    plan.model,
                    prompt_tokens=plan.actual_prompt_tokens,
                    tokens=tokens,
                    threads=n,
                    gpu_layers=0,
                )
                row.setdefault("llama_bench_prompt", []).append(cpp.prompt_tokens_per_second)
                row.setdefault("llama_bench_decode", []).append(cpp.decode_tokens_per_second)
            print(f"  {n} threads: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in row.items()))
    for n, row in figures.items():
        print(
            f"  {n} threads, medians: "
            + ", ".join(f"{k} {median_spread(v)}" for k, v in row.items())
        )
    return figures


# -- 3 and 4. KV reuse and conversation switch ----------------------------------------------


def reply(client: EngineClient, history: list[dict[str, str]], text: str, key: str) -> ReplyStats:
    """One turn: add ``text``, get a short reply, keep it in ``history``."""
    history.append({"role": "user", "content": text})
    stream = client.generate(
        chat(
            history,
            system_prompt="",
            sampling=SamplingSettings(seed=1, max_tokens=16, ignore_eos=True),
            conversation_key=key,
        )
    )
    stats = stream.wait()
    history.append({"role": "assistant", "content": stream.text})
    return stats


def kv_reuse(client: EngineClient) -> dict[str, Any]:
    """Second turn of a conversation: how many prompt tokens had to be evaluated."""
    history: list[dict[str, str]] = []
    first = reply(client, history, FILLER * 12, "reuse")
    new_message = "And what happened next?"
    second = reply(client, history, new_message, "reuse")
    rendered = client.render(
        chat([{"role": "user", "content": new_message}], system_prompt="")
    ).result()
    _text, own = rendered.text, rendered.tokens
    figures = {
        "first_prompt_tokens": first.prompt_tokens,
        "second_prompt_tokens": second.prompt_tokens,
        "second_evaluated_tokens": second.evaluated_prompt_tokens,
        "new_message_with_template_tokens": own,
    }
    print(
        f"  turn 2: {second.evaluated_prompt_tokens} of {second.prompt_tokens} prompt tokens "
        f"evaluated (the new message with its template: {own} tokens)",
        flush=True,
    )
    return figures


def conversation_switch(client: EngineClient, history_tokens: int) -> dict[str, Any]:
    """TTFT switching back to A after a turn in B, against continuing A directly."""
    a: list[dict[str, str]] = []
    b: list[dict[str, str]] = []
    first = reply(client, a, HISTORY_SENTENCE.format(name="A") * (history_tokens // 16), "A")
    print(f"  A's history: {first.prompt_tokens} tokens, evaluated in {first.prompt_seconds:.1f} s")
    direct: list[float] = []
    switched: list[float] = []
    for round_number in range(2):
        direct.append(
            reply(client, a, f"Continue, part {round_number}.", "A").time_to_first_token or 0.0
        )
        reply(client, b, HISTORY_SENTENCE.format(name="B") * 8 if not b else "More about B.", "B")
        stats = reply(client, a, f"Back to A, part {round_number}.", "A")
        assert stats.kv_source == "saved", stats
        switched.append(stats.time_to_first_token or 0.0)
        print(
            f"  TTFT continuing A {direct[-1] * 1000:7.1f} ms   after B {switched[-1] * 1000:7.1f} "
            f"ms   ({stats.evaluated_prompt_tokens} of {stats.prompt_tokens} tokens evaluated)",
            flush=True,
        )
    ratio = statistics.median(switched) / statistics.median(direct)
    print(f"  ratio after-switch/direct TTFT: {ratio:.2f} (target <= 2)")
    return {"history_tokens": first.prompt_tokens, "ttft_direct": direct,
            "ttft_after_switch": switched, "ratio": ratio}  # fmt: skip


# -- 5 and 6. load and memory ---------------------------------------------------------------


def load_and_memory(path: Path, repeats: int, threads: int) -> dict[str, Any]:
    """Cold host, warm host, plain Llama(), fresh plain process; memory; interleaved."""
    plan = BenchPlan(str(path), 8, 2, threads, 0, prompt_text="Hello")
    runs: dict[str, list[float]] = {}
    for _ in range(repeats):
        cold, warm, host_rss = host_loads(path, plan.n_ctx, threads)
        plain = measure_reference(plan)
        measured = {
            "host_start_and_load": cold,
            "warm_host_load": warm,
            "plain_llama_load": plain.load_seconds,
            "plain_process_start_and_load": plain.cold_load_seconds,
            "host_rss_mb": host_rss / MB,
            "plain_rss_mb": plain.rss_bytes / MB,
        }
        for key, value in measured.items():
            runs.setdefault(key, []).append(value)
        print("  " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in runs.items()), flush=True)
    return load_summary(path, runs)


def host_loads(path: Path, n_ctx: int, threads: int) -> tuple[float, float, int]:
    """(start + load seconds, load into a started host seconds, host RSS bytes loaded)."""
    started = time.perf_counter()
    client = loaded_client(path, n_ctx, threads)
    cold = time.perf_counter() - started
    client.close()
    client = EngineClient(auto_reload=False)
    client.start()
    client.status().result()  # answered once the host is up
    started = time.perf_counter()
    client.load(LoadOptions(path, n_ctx=n_ctx, n_threads=threads)).result()
    warm = time.perf_counter() - started
    rss = int(client.status().result()["rss_bytes"])
    client.close()
    return cold, warm, rss


def load_summary(path: Path, runs: dict[str, list[float]]) -> dict[str, Any]:
    """Medians, ratios and the memory lines."""
    med = {key: statistics.median(values) for key, values in runs.items()}
    result: dict[str, Any] = {"runs": runs, "medians": med}
    result["ratio"] = med["host_start_and_load"] / med["plain_llama_load"]
    result["warm_ratio"] = med["warm_host_load"] / med["plain_llama_load"]
    result["cold_ratio"] = med["host_start_and_load"] / med["plain_process_start_and_load"]
    result["model_mb"] = path.stat().st_size / MB
    result["client_rss_mb"] = resident_memory() / MB
    for key in ("host_start_and_load", "warm_host_load", "plain_llama_load",
                "plain_process_start_and_load", "host_rss_mb", "plain_rss_mb"):  # fmt: skip
        print(f"  {key}: {median_spread(runs[key])}")
    print(
        f"  host start+load / plain Llama(): {result['ratio']:.2f} (target <= 1.5); started "
        f"host: {result['warm_ratio']:.2f}; / fresh plain process: {result['cold_ratio']:.2f}"
    )
    print(
        f"  memory: host {med['host_rss_mb']:.0f} MB, plain in-process {med['plain_rss_mb']:.0f} "
        f"MB, this client process {result['client_rss_mb']:.0f} MB, model file "
        f"{result['model_mb']:.0f} MB",
        flush=True,
    )
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="starter,tiny", help="starter, tiny, real-shape")
    parser.add_argument("--history-tokens", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=0, help="default: the host's choice now")
    parser.add_argument("--compare-threads", default="1,2", help="thread counts for [2]; '' skips")
    parser.add_argument("--skip", default="", help="sections to skip: 1,2,3 (3 and 4), 5 (5, 6)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    args.threads = args.threads or threads_now()
    skip = set(args.skip.split(","))
    results: dict[str, Any] = {"tokens": args.tokens, "threads": args.threads}
    with tempfile.TemporaryDirectory(prefix="chatdesk-bench-engine-") as folder:
        models = bench_models(args.models.split(","), Path(folder))
        main_model = next(iter(models.values()))
        for name, path in models.items() if "1" not in skip else ():
            print(
                f"[1] speed, {name} model, {args.tokens} tokens, load {os.getloadavg()}", flush=True
            )
            results[f"speed_{name}"] = speed(path, args.tokens, args.repeats, args.threads)
        if args.compare_threads and "2" not in skip:
            counts = [int(n) for n in args.compare_threads.split(",")]
            print(f"[2] threads {counts}, {main_model.name}, load {os.getloadavg()}", flush=True)
            results["threads_compare"] = thread_counts(
                main_model, args.tokens, args.repeats, counts
            )
        if "3" not in skip:
            with scratch_data_root():  # the switches save states: not into the user's cache
                client = loaded_client(main_model, 8192, args.threads)
                try:
                    print("[3] KV reuse across turns", flush=True)
                    results["kv_reuse"] = kv_reuse(client)
                    print(f"[4] switching conversations ({main_model.name})", flush=True)
                    results["switch"] = conversation_switch(client, args.history_tokens)
                finally:
                    client.close()
        if "5" not in skip:
            print(f"[5, 6] load and memory ({main_model.name}), load {os.getloadavg()}", flush=True)
            results["load"] = load_and_memory(main_model, args.repeats, args.threads)
    results["loadavg_end"] = os.getloadavg()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
