"""The switch's own cost with and without the idle save, same run, one process.

    python tests/benchmarks/bench_idle_save.py [--model starter|gemma] [--rounds 4]

The host's engine runs in this process (``chatdesk.engine.host.engine.Engine``, as the
engine host runs it, one thread, no disk states so no background writes). Five
conversations of about 1,000-4,000 tokens are read once (chatdesk/cli/bench_switch.py's
text); then, round after round, the benchmark goes to each in turn with a one-line message
(unwarmed, as the command line and the API server send it) and after every other reply
calls ``Engine.idle`` (what the host's main loop does when no request came for
``IDLE_SAVE`` seconds), alternating so each conversation is left both ways. It times
``PromptCache.prepare`` at each switch (saving the conversation left, unless its idle save
is still current, and restoring the one returned to) and the idle saves themselves.
Prints the medians of both kinds of switch, their ratio, the time to first token of both,
and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.cli.bench_switch import QUESTION, SAMPLING, SIZES, history_text
from chatdesk.engine.host.engine import Engine, ReplyJob
from chatdesk.engine.host.llama_log import LlamaLog
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import LoadOptions
from tests.support.real_model import REAL_MODELS, real_model_or_exit


class Timed:
    """Wraps ``PromptCache.prepare`` and keeps the last call's seconds."""

    def __init__(self, engine: Engine) -> None:
        cache = engine.cache
        assert cache is not None
        self.last = 0.0
        prepare = cache.prepare

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return prepare(*args, **kwargs)
            finally:
                self.last = time.perf_counter() - began

        cache.prepare = timed  # type: ignore[method-assign]


def turn(engine: Engine, history: list[dict[str, str]], text: str, key: str) -> float:
    """One unwarmed turn of conversation ``key``; its time to first token."""
    history.append({"role": "user", "content": text})
    parts: list[str] = []
    job = ReplyJob(threading.Event(), lambda _fitted: None, parts.append)
    request = ChatRequest.of(history, sampling=SAMPLING, conversation_key=key)
    stats = engine.generate(request, job)
    history.append({"role": "assistant", "content": "".join(parts)})
    return stats.time_to_first_token or 0.0


def measure(engine: Engine, rounds: int) -> dict[str, Any]:
    """Switches after a conversation left with / without its idle save, and idle saves."""
    chats: dict[str, list[dict[str, str]]] = {f"idle-{n}": [] for n in range(len(SIZES))}
    for (key, history), size in zip(chats.items(), SIZES, strict=True):
        turn(engine, history, history_text(key, size), key)
    timed = Timed(engine)
    switches: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    idle_saves: list[float] = []
    left_saved = False
    for number in range(rounds * len(chats)):
        key = list(chats)[number % len(chats)]
        ttft = turn(engine, chats[key], QUESTION, key)
        if number:  # the first one may find its own conversation still in the context
            switches[left_saved].append((timed.last, ttft))
        left_saved = (number + number // len(chats)) % 2 == 0
        if left_saved:
            began = time.perf_counter()
            engine.idle()
            idle_saves.append(time.perf_counter() - began)
    return summary(switches, idle_saves)


def summary(
    switches: dict[bool, list[tuple[float, float]]], idle_saves: list[float]
) -> dict[str, Any]:
    """Medians in ms (and the ratio: a switch after an idle save over one without)."""
    ms = {saved: [(p * 1000, t * 1000) for p, t in pairs] for saved, pairs in switches.items()}
    result: dict[str, Any] = {}
    for saved, label in ((False, "without"), (True, "with")):
        result[f"switch_ms_{label}"] = statistics.median(p for p, _ in ms[saved])
        result[f"ttft_ms_{label}"] = statistics.median(t for _, t in ms[saved])
        result[f"switches_ms_{label}"] = [round(p, 2) for p, _ in ms[saved]]
    result["ratio"] = result["switch_ms_with"] / result["switch_ms_without"]
    result["idle_save_ms"] = [round(s * 1000, 2) for s in idle_saves]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(REAL_MODELS), default="starter")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    path = real_model_or_exit(args.model)
    log = LlamaLog()
    log.install()
    engine = Engine(log)
    engine.load(LoadOptions(str(path), n_ctx=8192, n_threads=1, state_disk_mb=0))
    before = os.getloadavg()
    try:
        result = measure(engine, args.rounds)
    finally:
        engine.unload()
    result["loadavg"] = [before, os.getloadavg()]
    print(
        f"{args.model}: switch {result['switch_ms_with']:.1f} ms after an idle save, "
        f"{result['switch_ms_without']:.1f} ms without (ratio {result['ratio']:.2f}); "
        f"TTFT {result['ttft_ms_with']:.0f} / {result['ttft_ms_without']:.0f} ms; "
        f"idle saves {min(result['idle_save_ms']):.0f}-{max(result['idle_save_ms']):.0f} ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
