"""``chatdesk bench``: ChatDesk's engine host against a plain llama-cpp-python loop and llama.cpp.

Every side uses the same model file, prompt, threads, context and sampling, in the same
invocation, and the sides take turns for ``--repeats`` rounds (host, plain, llama-bench,
then llama-bench, plain, host, ...: the order reversed each round, so a load that rises or
falls during the run favours no side), so a noisy machine slows them alike. Each figure is
the median of the rounds, with its spread (lowest and highest); ratios are ours over the
reference's medians.

- ``ratio``: host decode tokens/s (text as the client receives it) over the plain loop's;
- ``load_ratio``: host process start + model load over a plain in-process ``Llama()`` load;
- ``cold_load_ratio``: the same over a fresh plain process's start + import + ``Llama()``;
- ``prompt_ratio``: host prompt evaluation tokens/s over the plain loop's;
- ``first_token_ratio``: launch to first token of the first message (host start, load,
  prompt, first token) over the plain load + its time to first token;
- ``llama_bench``: ``decode_ratio`` and ``prompt_ratio`` against llama.cpp's own
  ``llama-bench`` of the same llama.cpp (see chatdesk/cli/llama_bench.py), when it is built:
  preferably linked against the installed wheel's own libraries.

See bench_runs.py for how each side is measured; ``--task`` adds speculative decoding on one
task, with against without (bench_tasks.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from chatdesk.cli.bench_runs import (
    BenchPlan,
    check_context,
    measure_host,
    measure_reference,
)
from chatdesk.cli.bench_switch import measure_switch_back
from chatdesk.cli.bench_tasks import TASKS, print_speculative, task, task_result
from chatdesk.cli.errors import CLIError
from chatdesk.cli.llama_bench import (
    LlamaBenchError,
    LlamaBenchFigures,
    find_llama_bench,
    run_llama_bench,
)
from chatdesk.engine.client import EngineClient
from chatdesk.engine.threads import threads_now
from chatdesk.engine.types import EngineError, LoadOptions

Runs = dict[str, list[Any]]
TASK_CONTEXT = 8192  # the task prompts and the 4k-token switch-back histories fit


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add ``bench`` to the chatdesk parser."""
    bench = commands.add_parser(
        "bench", help="measure load and tokens/s: engine host vs plain llama-cpp-python, llama.cpp"
    )
    bench.add_argument("model", help="path to a .gguf file")
    bench.add_argument("--tokens", type=int, default=256, help="tokens to generate")
    bench.add_argument("--prompt-tokens", type=int, default=256, help="prompt size in tokens")
    bench.add_argument(
        "--threads", type=int, help="CPU threads for every side (default: what the host picks now)"
    )
    bench.add_argument("--repeats", type=int, default=3, help="interleaved rounds (median)")
    bench.add_argument(
        "--gpu-layers", type=int, help="layers to offload (-1 = all; default: all on a GPU build)"
    )
    bench.add_argument(
        "--no-llama-bench", action="store_true", help="skip llama.cpp's llama-bench even if built"
    )
    bench.add_argument(
        "--task",
        choices=TASKS,
        help="also measure speculative decoding on this task, with against without",
    )
    bench.add_argument(
        "--speculation",
        choices=("auto", "always"),
        help="--task: the host's choice (auto, default) or speculate wherever it is exact",
    )
    bench.add_argument(
        "--switch-back",
        action="store_true",
        help="also time returning to 5 conversations against a new one (switch_back_ratio, "
        "warmed as the window warms; switch_back_ratio_unwarmed)",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(handler=run_bench)


def plan_from(args: argparse.Namespace) -> BenchPlan:
    """The checked request."""
    model = Path(args.model).expanduser()
    if not model.is_file():
        raise CLIError(f"no model file {args.model}")
    if args.tokens < 2:
        raise CLIError("--tokens must be at least 2")
    if args.prompt_tokens < 1 or args.repeats < 1:
        raise CLIError("--prompt-tokens and --repeats must be at least 1")
    threads = args.threads or threads_now()  # what the host would choose right now
    plan = BenchPlan(str(model), args.prompt_tokens, args.tokens, threads, args.gpu_layers)
    check_context(plan)
    return plan


def run_rounds(plan: BenchPlan, repeats: int, llama_bench: Path | None, quiet: bool) -> Runs:
    """Interleaved rounds of every side; each side's figures per round."""
    sides: dict[str, Callable[[], Any]] = {
        "host": lambda: measure_host(plan),  # first of all: it fixes the prompt for the others
        "plain": lambda: measure_reference(plan),
    }
    if llama_bench is not None:
        sides["llama_bench"] = lambda: llama_bench_round(plan, llama_bench)
    runs: Runs = {"host": [], "plain": [], "llama_bench": []}
    for round_number in range(repeats):
        for side in list(sides) if round_number % 2 == 0 else reversed(list(sides)):
            runs[side].append(sides[side]())
        if not quiet:
            print_round(round_number, runs)
    return runs


def llama_bench_round(plan: BenchPlan, binary: Path) -> LlamaBenchFigures:
    """llama-bench on the host's prompt size, tokens and threads."""
    try:
        return run_llama_bench(
            binary,
            plan.model,
            prompt_tokens=plan.actual_prompt_tokens,
            tokens=plan.tokens,
            threads=plan.threads,
            gpu_layers=plan.gpu_layers or 0,
        )
    except LlamaBenchError as error:
        raise CLIError(str(error)) from None


def median_of(items: list[Any], name: str) -> float:
    """The median of one field over the rounds."""
    return float(statistics.median(getattr(item, name) for item in items))


def spread_of(items: list[Any], name: str) -> list[float]:
    """[lowest, highest] of one field over the rounds."""
    values = [float(getattr(item, name)) for item in items]
    return [min(values), max(values)]


def summary(items: list[Any]) -> dict[str, Any]:
    """Medians of every field, and the spread of each."""
    names = [f.name for f in fields(items[0])]
    medians: dict[str, Any] = {name: median_of(items, name) for name in names}
    medians["spread"] = {name: spread_of(items, name) for name in names}
    return medians


def ratio(ours: list[Any], theirs: list[Any], name: str, other: str | None = None) -> float | None:
    """Median of ours over median of theirs (None if theirs is 0)."""
    reference = median_of(theirs, other or name)
    return median_of(ours, name) / reference if reference else None


def result_of(plan: BenchPlan, runs: Runs, binary: Path | None = None) -> dict[str, Any]:
    """The JSON object ``--json`` prints."""
    host, plain, cpp = runs["host"], runs["plain"], runs["llama_bench"]
    result: dict[str, Any] = {
        "model": plan.model,
        "model_bytes": Path(plan.model).stat().st_size,
        "tokens": plan.tokens,
        "prompt_tokens": plan.actual_prompt_tokens,
        "threads": plan.threads,
        "n_ctx": plan.n_ctx,
        "repeats": len(host),
        "loadavg": load_average(),
        "host": summary(host),
        "plain": summary(plain),
        "ratio": ratio(host, plain, "decode_tokens_per_second"),
        "load_ratio": ratio(host, plain, "load_seconds"),
        "cold_load_ratio": ratio(host, plain, "cold_load_seconds"),
        "prompt_ratio": ratio(host, plain, "prompt_tokens_per_second"),
        "first_token_ratio": ratio(host, plain, "first_token_seconds"),
        "runs": {side: [asdict(item) for item in items] for side, items in runs.items()},
    }
    if cpp:
        result["llama_bench"] = {
            "binary": str(binary) if binary else None,
            **summary(cpp),
            "decode_ratio": ratio(host, cpp, "decode_tokens_per_second"),
            "prompt_ratio": ratio(host, cpp, "prompt_tokens_per_second"),
        }
    return result


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where unknown)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def run_bench(args: argparse.Namespace) -> int:
    """``chatdesk bench``: interleaved rounds, then a table or one JSON object."""
    plan = plan_from(args)
    binary = None if args.no_llama_bench else find_llama_bench()
    if binary is None and not args.json and not args.no_llama_bench:
        print("llama-bench not built (python scripts/build_llama_bench.py): skipping it")
    runs = run_rounds(plan, args.repeats, binary, quiet=args.json)
    result = result_of(plan, runs, binary)
    if args.task:
        result["speculative"] = measure_task(plan, args.task, args.repeats, args.speculation)
    if args.switch_back:
        result.update(with_host(plan, measure_switch_back))
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
        if args.task:
            print_speculative(result["speculative"])
        if args.switch_back:
            print(
                f"switch back ratio: {result['switch_back_ratio']:.2f} (returning / new, "
                "warmed as the window warms); unwarmed "
                f"{result['switch_back_ratio_unwarmed']:.2f}"
            )
    return 0


def measure_task(
    plan: BenchPlan, name: str, repeats: int, speculation: str | None = None
) -> dict[str, Any]:
    """Speculative decoding on task ``name``: one host, interleaved rounds off and on."""
    job = task(name, plan.tokens)
    return with_host(plan, lambda client: task_result(client, name, job, repeats), speculation)


def with_host(
    plan: BenchPlan,
    measure: Callable[[EngineClient], dict[str, Any]],
    speculation: str | None = None,
) -> dict[str, Any]:
    """``measure`` run against a fresh host with the plan's model loaded."""
    client = EngineClient(auto_reload=False)
    try:
        options = LoadOptions(
            plan.model,
            n_ctx=TASK_CONTEXT,
            n_threads=plan.threads,
            speculation=speculation,
            state_disk_mb=0,  # its made-up conversations' states stay out of the user's cache
        )
        client.load(replace(options, n_gpu_layers=plan.gpu_layers)).result()
        return measure(client)
    except EngineError as error:
        raise CLIError(f"the engine host run failed: {error.message}") from None
    finally:
        client.close()


def print_round(number: int, runs: Runs) -> None:
    """One line per round while the benchmark runs."""
    host, plain = runs["host"][-1], runs["plain"][-1]
    line = (
        f"round {number + 1}: decode tok/s host {host.decode_tokens_per_second:.1f}, "
        f"plain {plain.decode_tokens_per_second:.1f}"
    )
    if runs["llama_bench"]:
        line += f", llama-bench {runs['llama_bench'][-1].decode_tokens_per_second:.1f}"
    print(line, flush=True)


TABLE_ROWS = (
    ("load (s)", "load_seconds", "host: process start + load; plain: Llama()"),
    ("cold load (s)", "cold_load_seconds", "process start + imports + load"),
    ("first token (s)", "first_token_seconds", "host: from process start; plain: from Llama()"),
    ("prompt tok/s", "prompt_tokens_per_second", ""),
    ("decode tok/s", "decode_tokens_per_second", "host: text as the client receives it"),
)


def print_table(result: dict[str, Any]) -> None:
    """The figures for people: medians, spread, ratios."""
    cpp = result.get("llama_bench")
    print(
        f"{result['repeats']} rounds, {result['threads']} threads, prompt "
        f"{result['prompt_tokens']} tokens, {result['tokens']} generated, context "
        f"{result['n_ctx']}, load average {result['loadavg']}"
    )
    print(f"{'':16}{'engine host':>24}{'plain loop':>24}{'llama-bench':>24}")
    for label, name, note in TABLE_ROWS:
        cells = [cell(result["host"], name), cell(result["plain"], name), cell(cpp, name)]
        print(f"{label:16}{''.join(cells)}  {note}".rstrip())
    print(f"ratio (host decode / plain decode): {result['ratio']:.3f}")
    print(
        f"load ratio: {result['load_ratio']:.2f} (cold: {result['cold_load_ratio']:.2f})   "
        f"first token ratio: {result['first_token_ratio']:.2f}   "
        f"prompt ratio: {result['prompt_ratio']:.3f}"
    )
    if cpp:
        print(
            f"against llama-bench: decode {cpp['decode_ratio']:.3f}, "
            f"prompt {cpp['prompt_ratio']:.3f}"
        )
    sys.stdout.flush()


def cell(side: dict[str, Any] | None, name: str) -> str:
    """'median (low-high)' right-aligned, or blank."""
    if side is None or name not in side:
        return " " * 24
    low, high = side["spread"][name]
    return f" {side[name]:.4g} ({low:.3g}-{high:.3g})".rjust(24)
