"""``chatdesk bench``: ChatDesk's engine host against a plain llama-cpp-python loop.

Both runs use the same model file, prompt, threads and sampling, in the same invocation.
The host side is measured from the client: start of the host process + model load, the
host's prompt evaluation rate, and the decode rate of the text as the client receives it
(end-of-generation suppressed so exactly ``--tokens`` tokens are produced). The plain side
runs ``chatdesk.engine.host.reference`` (``Llama()`` + ``Llama.generate()``) in a
subprocess, so this command itself never imports llama_cpp. ``ratio`` is host decode
tokens/s over plain tokens/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chatdesk.cli.errors import CLIError
from chatdesk.engine.client import EngineClient, reference_command
from chatdesk.engine.types import (
    EngineError,
    LoadOptions,
    ReplyDone,
    ReplyFailed,
    SamplingSettings,
    TextDelta,
)

FILLER = "The quick brown fox jumps over the lazy dog while the assistant answers a question. "
BENCH_SEED = 1234


@dataclass(frozen=True)
class Figures:
    """One side's measurements."""

    load_seconds: float
    prompt_tokens: int
    prompt_tokens_per_second: float
    generated_tokens: int
    decode_tokens_per_second: float


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add ``bench`` to the chatdesk parser."""
    bench = commands.add_parser(
        "bench", help="measure load time and tokens/s: engine host vs plain llama-cpp-python"
    )
    bench.add_argument("model", help="path to a .gguf file")
    bench.add_argument("--tokens", type=int, default=256, help="tokens to generate")
    bench.add_argument("--prompt-tokens", type=int, default=256, help="approximate prompt size")
    bench.add_argument("--threads", type=int, help="CPU threads for both runs")
    bench.add_argument(
        "--gpu-layers", type=int, help="layers to offload (-1 = all; default: all on a GPU build)"
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(handler=run_bench)


def bench_sampling(tokens: int) -> SamplingSettings:
    """The sampling both sides use (the reference hard-codes the same values)."""
    return SamplingSettings(
        temperature=0.8,
        top_k=40,
        top_p=0.95,
        min_p=0.05,
        repeat_penalty=1.0,
        seed=BENCH_SEED,
        max_tokens=tokens,
        ignore_eos=True,
    )


def context_for(prompt_tokens: int, tokens: int) -> int:
    """A context that holds the prompt and the whole reply."""
    needed = prompt_tokens + tokens + 64
    return (needed + 255) // 256 * 256


def measure_host(args: argparse.Namespace, threads: int) -> tuple[Figures, str]:
    """Start a host, load, generate; the figures and the exact prompt text used."""
    model = str(Path(args.model).expanduser())
    n_ctx = context_for(args.prompt_tokens * 2, args.tokens)
    started = time.perf_counter()
    client = EngineClient(auto_reload=False)
    try:
        options = LoadOptions(model, n_ctx=n_ctx, n_threads=threads, n_gpu_layers=args.gpu_layers)
        client.load(options).result()
        load_seconds = time.perf_counter() - started
        messages = [{"role": "user", "content": FILLER * max(1, args.prompt_tokens // 18)}]
        prompt_text, _count = client.render_prompt(messages, "").result()
        figures = stream_reply(client, messages, args.tokens, load_seconds)
    finally:
        client.close()
    return figures, prompt_text


def stream_reply(
    client: EngineClient, messages: list[dict[str, str]], tokens: int, load_seconds: float
) -> Figures:
    """Generate and time the text as the client receives it."""
    stream = client.generate(messages, "", bench_sampling(tokens))
    first: float | None = None
    for event in stream:
        if isinstance(event, TextDelta) and first is None:
            first = time.perf_counter()
        elif isinstance(event, ReplyFailed):
            raise event.error
        elif isinstance(event, ReplyDone):
            end = time.perf_counter()
            stats = event.stats
            elapsed = end - first if first is not None else 0.0
            return Figures(
                load_seconds=load_seconds,
                prompt_tokens=stats.prompt_tokens,
                prompt_tokens_per_second=stats.prompt_tokens_per_second,
                generated_tokens=stats.generated_tokens,
                decode_tokens_per_second=(stats.generated_tokens - 1) / elapsed
                if elapsed > 0
                else 0.0,
            )
    raise EngineError("the reply ended without a result")


def measure_reference(args: argparse.Namespace, threads: int, prompt_text: str) -> Figures:
    """Run the plain loop in its own process; its figures."""
    with tempfile.TemporaryDirectory(prefix="chatdesk-bench-") as folder:
        prompt_file = Path(folder) / "prompt.txt"
        prompt_file.write_text(prompt_text, encoding="utf-8")
        command = [
            *reference_command(),
            str(Path(args.model).expanduser()),
            f"--prompt-file={prompt_file}",
            f"--tokens={args.tokens}",
            f"--ctx={context_for(args.prompt_tokens * 2, args.tokens)}",
            f"--threads={threads}",
            f"--gpu-layers={'auto' if args.gpu_layers is None else args.gpu_layers}",
            f"--seed={BENCH_SEED}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines() or [f"status {done.returncode}"]
        raise CLIError(f"the plain llama-cpp-python run failed: {lines[-1]}")
    try:
        return Figures(**json.loads(done.stdout.strip().splitlines()[-1]))
    except (ValueError, TypeError, IndexError) as error:
        raise CLIError(f"the plain llama-cpp-python run printed no figures ({error})") from None


def run_bench(args: argparse.Namespace) -> int:
    """``chatdesk bench``: both measurements, then a table or one JSON object."""
    if not Path(args.model).expanduser().is_file():
        raise CLIError(f"no model file {args.model}")
    if args.tokens < 2:
        raise CLIError("--tokens must be at least 2")
    threads = args.threads or max(1, (os.cpu_count() or 2) // 2)
    try:
        host, prompt_text = measure_host(args, threads)
    except EngineError as error:
        raise CLIError(error.message.splitlines()[0]) from None
    plain = measure_reference(args, threads, prompt_text)
    ratio = host.decode_tokens_per_second / plain.decode_tokens_per_second
    result = {
        "model": str(args.model),
        "tokens": args.tokens,
        "threads": threads,
        "host": asdict(host),
        "plain": asdict(plain),
        "ratio": ratio,
        "load_ratio": host.load_seconds / plain.load_seconds if plain.load_seconds else None,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print_table(host, plain, ratio)
    return 0


def print_table(host: Figures, plain: Figures, ratio: float) -> None:
    """The figures for people."""
    rows = [
        ("load (s)", host.load_seconds, plain.load_seconds, "host: process start + load"),
        ("prompt tok/s", host.prompt_tokens_per_second, plain.prompt_tokens_per_second, ""),
        ("decode tok/s", host.decode_tokens_per_second, plain.decode_tokens_per_second, ""),
    ]
    print(f"{'':14}{'engine host':>14}{'plain loop':>14}")
    for name, ours, theirs, note in rows:
        print(f"{name:14}{ours:14.3f}{theirs:14.3f}  {note}".rstrip())
    print(f"ratio (host decode / plain decode): {ratio:.3f}")
    sys.stdout.flush()
