"""Turns in a chat longer than the context: the cut kept at an anchor, against a cut that
moves every turn (the reference, same run).

    python tests/benchmarks/bench_long_chat.py [--model starter|gemma] [--turns 16]
        [--reference-turns 6] [--threads 1]

One engine host, context 4,096 tokens, replies of 128 tokens. Two chats start
from the same 60-turn history (about 5,000 tokens, so both must leave turns out):

- ChatDesk's: the whole chat is sent each turn and the engine fits it
  (``chatdesk.engine.context_fit``: the kept part starts at an anchor and stays there until
  it no longer fits, then about half the room is cleared at once);
- the reference: the caller leaves out the oldest turns one at a time until the rest fits,
  as ChatDesk's fit did before, so the prompt's start moves whenever a turn is added.

Turns alternate between the two chats while the reference runs. Prints each side's time to
first token (median and mean: the mean carries the turns that read the kept history again),
the tokens evaluated, the ratio of the means, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.cli.bench_switch import history_text
from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import ReplyStats, SamplingSettings
from tests.support.real_model import REAL_MODELS, measured_on_host

N_CTX = 4096
SAMPLING = SamplingSettings(temperature=0.0, max_tokens=128, ignore_eos=True)
HISTORY_TURNS = 60
REREAD = 500  # evaluated tokens above which a turn read the kept history again


def starting_history() -> list[dict[str, str]]:
    """The same 60 turns for both chats (about 80 tokens a turn)."""
    history = []
    for number in range(HISTORY_TURNS):
        history.append({"role": "user", "content": history_text(f"question {number}", 20)})
        history.append({"role": "assistant", "content": history_text(f"answer {number}", 60)})
    return history


class Chat:
    """One chat's history and turns; ``moving`` trims it the way the fit used to."""

    def __init__(self, client: EngineClient, key: str, moving: bool) -> None:
        self.client, self.key, self.moving = client, key, moving
        self.history = starting_history()
        self.start = 0  # the reference's oldest message sent
        self.stats: list[ReplyStats] = []

    def turn(self, number: int) -> None:
        """Add a question, get a 128-token reply, keep it."""
        self.history.append({"role": "user", "content": f"Question {number}: and then?"})
        sent = self._trimmed() if self.moving else self.history
        request = ChatRequest.of(sent, sampling=SAMPLING, conversation_key=self.key)
        stream = self.client.generate(request)
        self.stats.append(stream.wait(timeout=1800))
        self.history.append({"role": "assistant", "content": stream.text})

    def _trimmed(self) -> list[dict[str, str]]:
        """The newest turns that fit whole, the oldest left out one turn at a time."""
        while not self._fits_whole(self.history[self.start :]):
            self.start += 2
        return self.history[self.start :]

    def _fits_whole(self, messages: list[dict[str, str]]) -> bool:
        """Whether the engine would keep every message (each history message is unique;
        templates may trim a message's ends)."""
        request = ChatRequest.of(messages, sampling=SAMPLING)
        prompt = self.client.render(request).result(timeout=300)
        return messages[0]["content"].strip() in prompt.text

    def figures(self) -> dict[str, Any]:
        ttft = [(s.time_to_first_token or 0.0) * 1000 for s in self.stats]
        evaluated = [s.evaluated_prompt_tokens for s in self.stats]
        return {
            "ttft_ms": ttft,
            "median_ms": statistics.median(ttft),
            "mean_ms": statistics.fmean(ttft),
            "evaluated": evaluated,
            "rereads": sum(count > REREAD for count in evaluated),
            "prompt_tokens": [s.prompt_tokens for s in self.stats],
            "dropped": [s.dropped_messages for s in self.stats],
        }


def measure(client: EngineClient, turns: int, reference_turns: int) -> dict[str, Any]:
    """Both chats read their history once, then take turns (the reference for fewer)."""
    run = uuid.uuid4().hex[:8]
    anchored = Chat(client, f"bench-long-{run}-anchored", moving=False)
    moving = Chat(client, f"bench-long-{run}-moving", moving=True)
    for chat in (anchored, moving):
        chat.turn(0)
        chat.stats.clear()  # the first read of the history is the same for both
    for number in range(1, turns + 1):
        anchored.turn(number)
        if number <= reference_turns:
            moving.turn(number)
    result = {"anchored": anchored.figures(), "moving": moving.figures()}
    result["ratio_mean"] = result["anchored"]["mean_ms"] / result["moving"]["mean_ms"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(REAL_MODELS), default="starter")
    parser.add_argument("--turns", type=int, default=16)
    parser.add_argument("--reference-turns", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    result = measured_on_host(
        args.model,
        lambda client: measure(client, args.turns, args.reference_turns),
        N_CTX,
        args.threads,
    )
    for name in ("anchored", "moving"):
        side = result[name]
        print(
            f"{args.model} {name}: first token median {side['median_ms']:.0f} ms, mean "
            f"{side['mean_ms']:.0f} ms over {len(side['ttft_ms'])} turns; "
            f"{side['rereads']} read the history again; evaluated {side['evaluated']}"
        )
    print(f"ratio of the means (anchored / moving): {result['ratio_mean']:.3f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
