"""A window conversation's next turn after an API request came in between, against staying.

    python tests/benchmarks/bench_api_between.py [--model starter|gemma] [--rounds 3]

One engine host (as the app runs it, one thread). A window conversation (a conversation key)
reads about 4,000 tokens once; then, each round, an API request (no conversation key, as the
API server sends it: 200 tokens of other text) is answered, then the window conversation's
next turn; and the window conversation's next turn again, with nothing in between (the
reference: staying). Prints the time to first token and the tokens evaluated of both, the
ratio of the medians, and one JSON line. Before the host saved the displaced conversation
for a request without a key, the turn after an API request read the whole history again.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.cli.bench_switch import QUESTION, SAMPLING, history_text
from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import ReplyStats
from tests.support.real_model import REAL_MODELS, measured_on_host


def turn(
    client: EngineClient, history: list[dict[str, str]], text: str, key: str | None
) -> ReplyStats:
    """One turn: add ``text``, get a short reply, keep it."""
    history.append({"role": "user", "content": text})
    stream = client.generate(ChatRequest.of(history, sampling=SAMPLING, conversation_key=key))
    stats = stream.wait(timeout=900)
    history.append({"role": "assistant", "content": stream.text})
    return stats


def measure(client: EngineClient, rounds: int) -> dict[str, Any]:
    """The window's turns after an API request and right after its own last turn."""
    window: list[dict[str, str]] = []
    turn(client, window, history_text("window", 4000), "bench-window")
    after: list[ReplyStats] = []
    staying: list[ReplyStats] = []
    for number in range(rounds):
        turn(client, [], f"Request {number}. " + history_text("api", 200), None)
        after.append(turn(client, window, QUESTION, "bench-window"))
        staying.append(turn(client, window, QUESTION, "bench-window"))
    ttft = {
        name: [(s.time_to_first_token or 0.0) * 1000 for s in stats]
        for name, stats in (("after_api", after), ("staying", staying))
    }
    return {
        "ratio": statistics.median(ttft["after_api"]) / statistics.median(ttft["staying"]),
        "ttft_ms": ttft,
        "evaluated_after_api": [s.evaluated_prompt_tokens for s in after],
        "evaluated_staying": [s.evaluated_prompt_tokens for s in staying],
        "prompt_tokens": [s.prompt_tokens for s in after],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(REAL_MODELS), default="starter")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = measured_on_host(args.model, lambda client: measure(client, args.rounds), 8192)
    after, staying = result["ttft_ms"]["after_api"], result["ttft_ms"]["staying"]
    print(
        f"{args.model}: after an API request {statistics.median(after):.0f} ms "
        f"(evaluated {result['evaluated_after_api']}), staying {statistics.median(staying):.0f}"
        f" ms (evaluated {result['evaluated_staying']}): ratio {result['ratio']:.2f}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
