"""Speculative decoding on the work users do: tokens/s with against without, same run.

    python tests/benchmarks/bench_speculative.py [--repeats 3] [--tokens 160]
                                                 [--models starter,gemma] [--tasks ...]
                                                 [--threads N]

For each model (the real starter model SmolLM2-135M-Instruct and Gemma 3 270M, both from
tests/support/real_model.py) one engine host is loaded, and for each task (rewrite,
code-edit, rag, chat; see chatdesk/cli/bench_tasks.py) interleaved rounds send the same
conversation with speculative decoding off and on (the order reversed each round). The
ratio is the median decode rate with over the median without; spreads are printed with
them, and the load average. Greedy replies must be identical both ways (checked).
Targets: >= 1.5x rewrite and code-edit, >= 1.2x rag, >= 0.98x chat. The last line is one
JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.cli.bench_tasks import TASKS, print_speculative, task, task_result
from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions
from tests.support.real_model import REAL_MODELS, starter_model


def model_figures(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every task's figures on one model."""
    path, why_not = starter_model(REAL_MODELS[name])
    if path is None:
        print(f"{name}: skipped ({why_not})")
        return {}
    client = EngineClient(auto_reload=False)
    try:
        options = LoadOptions(
            path, n_ctx=4096, n_threads=args.threads, speculation=args.speculation
        )
        client.load(options).result(timeout=300)
        figures = {}
        for task_name in args.tasks.split(","):
            job = task(task_name, args.tokens)
            figures[task_name] = task_result(client, task_name, job, args.repeats)
            print(f"{name}: ", end="")
            print_speculative(figures[task_name])
        return figures
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=160)
    parser.add_argument("--models", default="starter,gemma")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--speculation", choices=("auto", "always"), default="auto")
    args = parser.parse_args()
    result = {"loadavg_before": os.getloadavg(), "repeats": args.repeats, "tokens": args.tokens}
    for name in args.models.split(","):
        result[name] = model_figures(name, args)
    result["loadavg_after"] = os.getloadavg()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
