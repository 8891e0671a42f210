"""Switching back costs nothing: TTFT returning to a conversation against a new one, same run.

    python tests/benchmarks/bench_switch_back.py [--models starter,gemma] [--threads N]

Per model, one engine host; five conversations of about 1,000-4,000 tokens are read once,
then the benchmark returns to each in turn, interleaved with new one-line conversations
(chatdesk/cli/bench_switch.py), warmed as the window warms and unwarmed. Target: median
return TTFT <= 1.2x a new conversation's first token. Prints the figures, the host's
saved-state memory, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.cli.bench_switch import measure_switch_back
from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions
from tests.support.real_model import REAL_MODELS, scratch_data_root, starter_model


def report(label: str, figures: dict[str, Any]) -> None:
    """One round's line: the ratios, then every TTFT in ms."""
    back = ", ".join(f"{t * 1000:.2f}" for t in figures["ttft_back"])
    new = ", ".join(f"{t * 1000:.2f}" for t in figures["ttft_new"])
    stay = ", ".join(f"{t * 1000:.2f}" for t in figures["ttft_stay"])
    print(
        f"{label}: switch back ratio {figures['switch_back_ratio']:.2f} (back / new), "
        f"{figures['back_over_stay_ratio']:.2f} (back / staying); TTFT ms back "
        f"[{back}] new [{new}] staying [{stay}]; evaluated back {figures['evaluated_back']} "
        f"new {figures['evaluated_new']}; history {figures['history_tokens']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="starter,gemma")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--sizes", default="1000,1750,2500,3250,4000", help="history tokens")
    args = parser.parse_args()
    result: dict[str, object] = {"loadavg_before": os.getloadavg()}
    for name in args.models.split(","):
        path, why_not = starter_model(REAL_MODELS[name])
        if path is None:
            print(f"{name}: skipped ({why_not})")
            continue
        with scratch_data_root():
            client = EngineClient(auto_reload=False)
            try:
                options = LoadOptions(path, n_ctx=8192, n_threads=args.threads)
                client.load(options).result(timeout=300)
                sizes = tuple(int(size) for size in args.sizes.split(","))
                figures = measure_switch_back(client, sizes)
                status = client.status().result()
                figures["saved_state_bytes"] = status.get("saved_state_bytes")
            finally:
                client.close()
        result[name] = figures
        for label, part in (("warmed (window)", figures), ("unwarmed", figures["unwarmed"])):
            report(f"{name} {label}", part)
        print(f"saved states {(figures['saved_state_bytes'] or 0) / 2**20:.0f} MiB", flush=True)
    result["loadavg_after"] = os.getloadavg()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
