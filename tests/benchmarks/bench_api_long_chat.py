"""API clients' chats longer than the context: the API server's warm after each reply,
against the same server without it (the reference, same run).

    python tests/benchmarks/bench_api_long_chat.py [--model starter|gemma] [--turns 16]
        [--pause 5]

One engine host (as the app runs it, one thread, context 4,096 tokens) behind two of
ChatDesk's API servers in this process, one warming each chat as its reply ends
(``ApiConfig.warm_after_reply``, the default) and one not; the official ``openai`` client.
Each server gets one chat, both starting from the same kind of 60-turn history (about 5,000
tokens, so each turn leaves older turns out, and every few turns more of them: the kept
part is then read again). Turns alternate between the chats; each is sent ``--pause``
seconds after the last reply, or, with ``--pause inf``, once the engine is idle (a person
who reads for longer than the read takes). Replies of 128 tokens.

Then what the warm costs where no turn follows (a batch client): distinct one-off prompts
of about 300 tokens, back to back, through each server in blocks A B B A: the time per
request.

Prints each chat's time to first token as the client sees it (median and mean: the mean
carries the turns that read the kept part again), the turns that read over 500 tokens, the
ratio of the means, the batch's times per request and their ratio, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import openai

from chatdesk.api.app import ApiConfig, create_app
from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.server import ApiServer
from chatdesk.cli.bench_switch import history_text
from chatdesk.engine.client import EngineClient
from tests.benchmarks.bench_api_switch import MODEL_ID, streamed_reply
from tests.benchmarks.bench_long_chat import REREAD, starting_history
from tests.support.openai_servers import free_port
from tests.support.real_model import REAL_MODELS, measured_on_host
from tests.support.recording_engine import RecordingEngine

N_CTX = 4096
REPLY_TOKENS = 128
WAYS = ("warmed", "not warmed")
ONE_OFF = 300  # tokens of each prompt of the batch
BATCH = 24  # prompts of the batch, each way


class ApiChat:
    """One chat through one API server: its history and each turn's figures."""

    def __init__(self, server: ApiServer, label: str) -> None:
        self.api = openai.OpenAI(base_url=server.url, api_key="b", max_retries=0, timeout=1800)
        self.history = starting_history(label)
        self.ttft_ms: list[float] = []
        self.read: list[int] = []  # prompt tokens not cached, each turn

    def turn(self, number: int) -> None:
        """A question, streamed; time to its first text, and what the prompt read."""
        self.history.append({"role": "user", "content": f"Question {number}: and then?"})
        ttft, text, prompt, cached = streamed_reply(self.api, self.history, REPLY_TOKENS)
        self.history.append({"role": "assistant", "content": text})
        self.ttft_ms.append(ttft)
        self.read.append(prompt - cached)

    def figures(self) -> dict[str, Any]:
        return {
            "ttft_ms": self.ttft_ms,
            "median_ms": statistics.median(self.ttft_ms),
            "mean_ms": statistics.fmean(self.ttft_ms),
            "read": self.read,
            "rereads": sum(count > REREAD for count in self.read),
        }


def pause(engine: RecordingEngine, seconds: float) -> None:
    """A person reading the last reply: ``seconds``, or (inf) until the engine is idle."""
    if math.isinf(seconds):
        engine.warms_done()
    else:
        time.sleep(seconds)


def long_chats(
    client: RecordingEngine, servers: dict[str, ApiServer], turns: int, seconds: float
) -> dict[str, Any]:
    """Each server's chat, turns alternating; the first turn (the whole kept part read)
    left out of the figures."""
    chats = {way: ApiChat(server, f"api {way}") for way, server in servers.items()}
    for number in range(turns + 1):
        for chat in chats.values():
            chat.turn(number)
            pause(client, seconds)
    for chat in chats.values():
        del chat.ttft_ms[0], chat.read[0]
    return {way: chat.figures() for way, chat in chats.items()}


def batch(servers: dict[str, ApiServer]) -> dict[str, Any]:
    """Distinct one-off prompts back to back through each server, blocks A B B A."""
    seconds: dict[str, list[float]] = {way: [] for way in servers}
    for block, way in enumerate(("warmed", "not warmed", "not warmed", "warmed")):
        api = openai.OpenAI(base_url=servers[way].url, api_key="b", max_retries=0, timeout=600)
        for number in range(BATCH // 2):
            text = f"{way} {block}.{number}: " + history_text(f"{way}{block}{number}", ONE_OFF)
            started = time.perf_counter()
            api.chat.completions.create(
                model=MODEL_ID, messages=[{"role": "user", "content": text}], max_tokens=4,
                temperature=0, extra_body={"ignore_eos": True},
            )  # fmt: skip
            seconds[way].append(1000 * (time.perf_counter() - started))
    return {f"batch_{way}_ms": times for way, times in seconds.items()}


def measure(client: EngineClient, turns: int, seconds: float) -> dict[str, Any]:
    assert isinstance(client, RecordingEngine)
    scheduler = FairScheduler(client)
    servers = {
        way: ApiServer(
            create_app(scheduler, ApiConfig(model_id=MODEL_ID, warm_after_reply=warm)),
            "127.0.0.1",
            free_port(),
        )
        for way, warm in zip(WAYS, (True, False), strict=True)
    }
    for server in servers.values():
        server.start()
    try:
        return {**long_chats(client, servers, turns, seconds), **batch(servers)}
    finally:
        for server in servers.values():
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(REAL_MODELS), default="starter")
    parser.add_argument("--turns", type=int, default=16)
    parser.add_argument("--pause", type=float, default=5.0, help="seconds, or inf")
    args = parser.parse_args()
    result = measured_on_host(
        args.model,
        lambda client: measure(client, args.turns, args.pause),
        N_CTX,
        engine=RecordingEngine,
    )
    warmed, plain = result["warmed"], result["not warmed"]
    result["ratio_mean"] = warmed["mean_ms"] / plain["mean_ms"]
    for way in WAYS:
        figures = result[way]
        print(
            f"{args.model}, pause {args.pause} s, {way}: first token median "
            f"{figures['median_ms']:.0f} ms, mean {figures['mean_ms']:.0f} ms; "
            f"{figures['rereads']} of {args.turns} turns read over {REREAD} tokens"
        )
    print(f"mean warmed / not warmed: {result['ratio_mean']:.3f}")
    warming, not_warming = (statistics.median(result[f"batch_{w}_ms"]) for w in WAYS)
    result["ratio_batch"] = warming / not_warming
    print(
        f"one-off prompts back to back: {warming:.0f} ms a request warming after each, "
        f"{not_warming:.0f} ms not ({warming / not_warming:.3f})"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
