"""Engine benchmarks: every figure a ratio against a reference measured in the same run.

    python tests/benchmarks/bench_engine.py [--tokens 2000] [--repeats 3] [--skip-real-shape]

1. Streaming: a reply with end-of-generation suppressed, as received by an ``EngineClient``
   (engine host process, pipe, incremental detokeniser), against a plain in-process
   llama-cpp-python ``Llama.generate()`` loop over the same prompt, interleaved ``--repeats``
   times; on the tiny test model and on the real-shape one (896 wide, 24 layers, Q8_0,
   about 0.45 GB, generated under the temp folder). Target: ratio >= 0.95.
2. KV reuse: a second turn evaluates only its new tokens (counts printed).
3. Conversation switch: TTFT of a turn in conversation A (about 4000 tokens of history)
   right after a turn in B, against TTFT of continuing A directly. Target: <= 2x.
4. Load: engine host start + model load against a plain in-process ``Llama()`` load of the
   same file (and a warm, pre-started host). Target: <= 1.5x.

The last line printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.cli.bench import context_for, measure_reference, stream_reply
from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions, ReplyStats, SamplingSettings
from tests.support.gguf_factory import PRESETS, ModelSpec, write_model

PROMPT_TOKENS = 64
FILLER = "The quick brown fox jumps over the lazy dog while the assistant answers a question. "
HISTORY_SENTENCE = "Conversation {name} goes on about the sea, the stars and the little model. "


def bench_models(args: argparse.Namespace, folder: Path) -> dict[str, Path]:
    """The tiny model (8192-token context) and, unless skipped, the real-shape one."""
    models = {"tiny": write_model(folder / "tiny.gguf", ModelSpec(context_length=8192))}
    if not args.skip_real_shape:
        real = Path(tempfile.gettempdir()) / "chatdesk-bench" / "real-shape.gguf"
        if not real.exists():
            real.parent.mkdir(parents=True, exist_ok=True)
            print(f"writing {real} ...", flush=True)
            write_model(real, PRESETS["real-shape"])
        models["real-shape"] = real
    return models


def loaded_client(path: Path, n_ctx: int, threads: int) -> EngineClient:
    client = EngineClient(auto_reload=False)
    client.load(LoadOptions(path, n_ctx=n_ctx, n_threads=threads)).result()
    return client


# -- 1. streaming efficiency ----------------------------------------------------------------


def streaming(path: Path, tokens: int, repeats: int, threads: int) -> dict[str, Any]:
    """Host decode tok/s (client side) against the plain loop, interleaved."""
    client = loaded_client(path, context_for(PROMPT_TOKENS * 2, tokens), threads)
    messages = [{"role": "user", "content": FILLER * (PROMPT_TOKENS // 18)}]
    prompt_text, _ = client.render_prompt(messages, "").result()
    options = SimpleNamespace(
        model=str(path), tokens=tokens, prompt_tokens=PROMPT_TOKENS, gpu_layers=0
    )
    host: list[float] = []
    plain: list[float] = []
    try:
        for _ in range(repeats):
            host.append(stream_reply(client, messages, tokens, 0.0).decode_tokens_per_second)
            plain.append(measure_reference(options, threads, prompt_text).decode_tokens_per_second)  # type: ignore[arg-type]
            print(f"  host {host[-1]:9.1f} tok/s   plain {plain[-1]:9.1f} tok/s", flush=True)
    finally:
        client.close()
    ratio = statistics.median(host) / statistics.median(plain)
    return {"host_tps": host, "plain_tps": plain, "ratio": ratio}


# -- 2 and 3. KV reuse and conversation switch ----------------------------------------------


def reply(client: EngineClient, history: list[dict[str, str]], text: str, key: str) -> ReplyStats:
    """One turn: add ``text``, get a short reply, keep it in ``history``."""
    history.append({"role": "user", "content": text})
    stream = client.generate(
        history, "", SamplingSettings(seed=1, max_tokens=16, ignore_eos=True), key
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
    _text, own = client.render_prompt([{"role": "user", "content": new_message}], "").result()
    return {
        "first_prompt_tokens": first.prompt_tokens,
        "second_prompt_tokens": second.prompt_tokens,
        "second_evaluated_tokens": second.evaluated_prompt_tokens,
        "new_message_with_template_tokens": own,
    }


def conversation_switch(client: EngineClient, history_tokens: int) -> dict[str, Any]:
    """TTFT switching back to A after a turn in B, against continuing A directly."""
    a: list[dict[str, str]] = []
    b: list[dict[str, str]] = []
    a_text = HISTORY_SENTENCE.format(name="A") * (history_tokens // 16)
    first = reply(client, a, a_text, "A")
    print(f"  A's history: {first.prompt_tokens} tokens, evaluated in {first.prompt_seconds:.1f} s")
    direct: list[float] = []
    switched: list[float] = []
    for round_number in range(2):
        stats = reply(client, a, f"Continue, part {round_number}.", "A")
        direct.append(stats.time_to_first_token or 0.0)
        b_text = HISTORY_SENTENCE.format(name="B") * 8 if not b else "More about B."
        reply(client, b, b_text, "B")
        stats = reply(client, a, f"Back to A, part {round_number}.", "A")
        assert stats.kv_source == "saved", stats
        switched.append(stats.time_to_first_token or 0.0)
        print(
            f"  TTFT continuing A {direct[-1] * 1000:7.1f} ms   "
            f"after B {switched[-1] * 1000:7.1f} ms   "
            f"({stats.evaluated_prompt_tokens} of {stats.prompt_tokens} tokens evaluated)",
            flush=True,
        )
    return {
        "history_tokens": first.prompt_tokens,
        "history_eval_seconds": first.prompt_seconds,
        "ttft_direct": direct,
        "ttft_after_switch": switched,
        "ratio": statistics.median(switched) / statistics.median(direct),
    }


# -- 4. load --------------------------------------------------------------------------------


def load_times(path: Path, repeats: int, threads: int) -> dict[str, Any]:
    """Cold host start + load, warm host load, plain Llama() load; interleaved."""
    options = SimpleNamespace(model=str(path), tokens=2, prompt_tokens=8, gpu_layers=0)
    n_ctx = context_for(16, 2)
    cold: list[float] = []
    warm: list[float] = []
    plain: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        client = EngineClient(auto_reload=False)
        client.load(LoadOptions(path, n_ctx=n_ctx, n_threads=threads)).result()
        cold.append(time.perf_counter() - started)
        client.close()
        client = EngineClient(auto_reload=False)
        client.start()
        client.status().result()  # answered once the host is up
        started = time.perf_counter()
        client.load(LoadOptions(path, n_ctx=n_ctx, n_threads=threads)).result()
        warm.append(time.perf_counter() - started)
        client.close()
        plain.append(measure_reference(options, threads, "Hello").load_seconds)  # type: ignore[arg-type]
        print(
            f"  host start+load {cold[-1]:.3f} s   warm host load {warm[-1]:.3f} s   "
            f"plain Llama() {plain[-1]:.3f} s",
            flush=True,
        )
    reference = statistics.median(plain)
    return {
        "host_start_and_load": cold,
        "warm_host_load": warm,
        "plain_llama_load": plain,
        "ratio": statistics.median(cold) / reference,
        "warm_ratio": statistics.median(warm) / reference,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--real-shape-repeats", type=int, default=1)
    parser.add_argument("--history-tokens", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-real-shape", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"tokens": args.tokens, "threads": args.threads}
    with tempfile.TemporaryDirectory(prefix="chatdesk-bench-engine-") as folder:
        models = bench_models(args, Path(folder))
        for name, path in models.items():
            repeats = args.repeats if name == "tiny" else args.real_shape_repeats
            print(f"[1] streaming {args.tokens} tokens, {name} model", flush=True)
            results[f"streaming_{name}"] = figures = streaming(
                path, args.tokens, repeats, args.threads
            )
            print(f"  ratio host/plain: {figures['ratio']:.3f} (target >= 0.95)", flush=True)
        biggest = models.get("real-shape", models["tiny"])
        client = loaded_client(biggest, 8192, args.threads)
        try:
            print("[2] KV reuse across turns", flush=True)
            results["kv_reuse"] = figures = kv_reuse(client)
            print(
                f"  turn 2: {figures['second_evaluated_tokens']} of "
                f"{figures['second_prompt_tokens']} prompt tokens evaluated (the new message "
                f"with its template: {figures['new_message_with_template_tokens']} tokens)",
                flush=True,
            )
            print(f"[3] switching conversations ({biggest.name})", flush=True)
            results["switch"] = figures = conversation_switch(client, args.history_tokens)
            print(f"  ratio after-switch/direct TTFT: {figures['ratio']:.2f} (target <= 2)")
        finally:
            client.close()
        print(f"[4] load ({biggest.name})", flush=True)
        results["load"] = figures = load_times(biggest, 3, args.threads)
        print(
            f"  ratio host start+load / plain Llama(): {figures['ratio']:.2f} (target <= 1.5); "
            f"warm host: {figures['warm_ratio']:.2f}",
            flush=True,
        )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
