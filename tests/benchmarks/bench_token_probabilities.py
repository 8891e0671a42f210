"""Token probabilities benchmark: decode speed with them on, against off, in the same run.

    python tests/benchmarks/bench_token_probabilities.py [--tokens 300] [--repeats 5] [--top 20]

On the real starter model (SmolLM2-135M-Instruct Q4_1, 49,152-token vocabulary), the same
reply (end-of-generation suppressed, default sampling, fixed seed) is generated with
``logprobs`` off and with ``--top`` alternatives, interleaved ``--repeats`` times. The
figures are the engine's decode tok/s (which includes sending the probabilities down the
pipe) and, on Linux, the engine host's CPU seconds per token (from /proc: steadier than
wall time on a busy machine); each ratio is the median "on" speed over the median "off"
speed. Target: ratio >= 0.9. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions, SamplingSettings
from tests.support.chat_requests import chat
from tests.support.real_model import starter_model

STORY = [{"role": "user", "content": "Tell me a long story about a lighthouse keeper."}]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (0 where /proc is missing)."""
    stat = Path(f"/proc/{pid}/stat")
    if pid is None or not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def decode_speed(client: EngineClient, tokens: int, top: int) -> tuple[float, float]:
    """Decode tok/s of one reply of exactly ``tokens`` tokens, and tokens per CPU second."""
    sampling = SamplingSettings(seed=1, max_tokens=tokens, ignore_eos=True, logprobs=top)
    before = cpu_seconds(client.host_pid)
    stream = client.generate(chat(STORY, system_prompt="You are a storyteller.", sampling=sampling))
    stats = stream.wait(timeout=600)
    used = cpu_seconds(client.host_pid) - before
    assert stats.generated_tokens == tokens
    assert len(stream.choices) == (tokens if top else 0)
    return stats.decode_tokens_per_second, tokens / used if used > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    path, why_not = starter_model()
    if path is None:
        sys.exit(f"no starter model: {why_not}")
    client = EngineClient(auto_reload=False)
    try:
        client.load(LoadOptions(path, n_ctx=2048, n_threads=args.threads)).result()
        decode_speed(client, 16, args.top)  # warm the piece cache and the allocator
        off: list[tuple[float, float]] = []
        on: list[tuple[float, float]] = []
        for _ in range(args.repeats):
            off.append(decode_speed(client, args.tokens, 0))
            on.append(decode_speed(client, args.tokens, args.top))
            print(
                f"  off {off[-1][0]:7.1f} tok/s {off[-1][1]:7.1f} tok/CPU-s   "
                f"on (top {args.top}) {on[-1][0]:7.1f} tok/s {on[-1][1]:7.1f} tok/CPU-s"
            )
    finally:
        client.close()
    ratios = [
        statistics.median(o[i] for o in on) / statistics.median(o[i] for o in off) for i in (0, 1)
    ]
    print(
        f"decode with probabilities / without: {ratios[0]:.3f} wall, {ratios[1]:.3f} CPU"
        " (target >= 0.9)"
    )
    figures = {
        "off": off,
        "on": on,
        "top": args.top,
        "ratio_wall": ratios[0],
        "ratio_cpu": ratios[1],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
