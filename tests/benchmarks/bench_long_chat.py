"""Turns in a chat longer than the context: the cut kept at an anchor, against a cut that
moves every turn (the reference, same run), and with the warm the window and ``chatdesk
chat`` send as a reply ends.

    python tests/benchmarks/bench_long_chat.py [--model starter|gemma] [--turns 16]
        [--reference-turns 6] [--threads 1] [--pauses 5 inf] [--regenerate]

One engine host, context 4,096 tokens, replies of 128 tokens. Chats start from the same
60-turn history (about 5,000 tokens, so all must leave turns out):

- ChatDesk's: the whole chat is sent each turn and the engine fits it
  (``chatdesk.engine.context_fit``: the kept part starts at an anchor and stays there until
  it no longer fits, then about half the room is cleared at once); no warm, as
  ``chatdesk ask`` sends it (and the API server before round twelve;
  ``bench_api_long_chat.py`` measures its warm);
- warmed, one chat per pause: the same, and before each turn the chat so far is warmed
  (``chatdesk.services.warming``: the window as a reply ends, ``chatdesk chat`` while the
  next line is typed), then the user sends after the pause, in seconds ("inf": once the
  warm is done, a user who reads for longer than the cut's read takes). A Send that comes
  first cancels the warm, which keeps what it read in whole batches;
- the reference: the caller leaves out the oldest turns one at a time until the rest fits,
  as ChatDesk's fit did before, so the prompt's start moves whenever a turn is added.

With ``--regenerate`` each warmed chat also regenerates every reply once its warm is done
(Regenerate clicked while reading), then warms again as the window does after it: the
regenerates after a warm that moved the cut against the others (the reference, same run).

Turns alternate between the chats. Prints each chat's time to first token (median and
mean: the mean carries the turns that read the kept history again), the tokens evaluated,
the ratios of the means, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import uuid
from concurrent.futures import TimeoutError as WarmRunning
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


def starting_history(label: str) -> list[dict[str, str]]:
    """60 turns of about 80 tokens, the same for every chat but for its ``label``, so no
    chat reuses what the engine read for another (identical chats would share every read)."""
    history = []
    for number in range(HISTORY_TURNS):
        question, answer = f"{label} question {number}", f"{label} answer {number}"
        history.append({"role": "user", "content": history_text(question, 20)})
        history.append({"role": "assistant", "content": history_text(answer, 60)})
    return history


def turn_figures(stats: list[ReplyStats]) -> dict[str, Any]:
    """A chat's turns: time to first token (each, median, mean) and what each prompt took."""
    ttft = [(s.time_to_first_token or 0.0) * 1000 for s in stats]
    return {
        "ttft_ms": ttft,
        "median_ms": statistics.median(ttft),
        "mean_ms": statistics.fmean(ttft),
        "evaluated": [s.evaluated_prompt_tokens for s in stats],
        "prompt_tokens": [s.prompt_tokens for s in stats],
        "dropped": [s.dropped_messages for s in stats],
    }


class Chat:
    """One chat's history and turns; ``moving`` trims it the way the fit used to; with a
    ``pause``, each turn is warmed first and sent that many seconds later."""

    def __init__(
        self,
        client: EngineClient,
        key: str,
        moving: bool,
        pause: float | None = None,
        regenerate: bool = False,
    ) -> None:
        self.client, self.key, self.moving, self.pause = client, key, moving, pause
        self.regenerate = regenerate
        # (the warm before it cut, the regenerate's stats, the warm after it)
        self.regenerated: list[tuple[bool, ReplyStats, dict[str, Any]]] = []
        self.history = starting_history(f"chat {key.rsplit('-', 1)[-1]}")
        self.start = 0  # the reference's oldest message sent
        self.stats: list[ReplyStats] = []
        self.warms: list[dict[str, Any]] = []

    def turn(self, number: int) -> None:
        """(Warm and pause,) add a question, get a 128-token reply, keep it."""
        if self.pause is not None:
            self._warm_and_pause()
        self.history.append({"role": "user", "content": f"Question {number}: and then?"})
        self.stats.append(self._reply())

    def _reply(self) -> ReplyStats:
        """A reply to the chat so far, added to it."""
        sent = self._trimmed() if self.moving else self.history
        request = ChatRequest.of(sent, sampling=SAMPLING, conversation_key=self.key)
        stream = self.client.generate(request)
        stats = stream.wait(timeout=1800)
        self.history.append({"role": "assistant", "content": stream.text})
        return stats

    def _warm_and_pause(self) -> None:
        """The warm as the last reply ended; the user sends after ``pause`` seconds (or once
        it is done, if sooner: the host is idle from then on). With ``regenerate``, once it
        is done the reply is regenerated and the chat warmed again."""
        warmed = self._warm()
        self.warms.append(warmed)
        if warmed.get("cancelled") or not self.regenerate or len(self.history) <= 2 * HISTORY_TURNS:
            return
        del self.history[-1]
        stats = self._reply()
        self.regenerated.append((warmed["evaluated"] > REREAD, stats, self._warm()))

    def _warm(self) -> dict[str, Any]:
        """Warm the chat so far; its result, or ``cancelled`` when the pause ended first."""
        request = ChatRequest.of(self.history, sampling=SAMPLING, conversation_key=self.key)
        warming = self.client.warm(request)
        try:
            return dict(warming.result(None if math.isinf(self.pause or 0) else self.pause))
        except WarmRunning:
            return {"cancelled": True, "seconds": self.pause}  # Send cancels it

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
        turns = turn_figures(self.stats)
        return {
            **turns,
            "rereads": sum(count > REREAD for count in turns["evaluated"]),
            "warm_seconds": [round(w.get("seconds", 0.0), 2) for w in self.warms[1:]],
            "warms_cut_short": sum(bool(w.get("cancelled")) for w in self.warms[1:]),
            **self._regenerate_figures(),
        }

    def _regenerate_figures(self) -> dict[str, Any]:
        """Time to first token of the regenerates after a cut's warm and of the others."""
        if not self.regenerated:
            return {}
        sides: dict[str, Any] = {}
        for name, at_cut in (("regenerate_at_cut", True), ("regenerate_other", False)):
            chosen = [(s, w) for cut, s, w in self.regenerated if cut == at_cut]
            ttft = [(s.time_to_first_token or 0.0) * 1000 for s, _ in chosen]
            sides[name] = {
                "ttft_ms": ttft,
                "median_ms": statistics.median(ttft) if ttft else None,
                "evaluated": [s.evaluated_prompt_tokens for s, _ in chosen],
                "warm_after_evaluated": [w.get("evaluated") for _, w in chosen],
            }
        at_cut, other = (sides[name]["median_ms"] for name in sides)
        sides["regenerate_ratio"] = at_cut / other if at_cut and other else None
        return sides


def measure(
    client: EngineClient,
    turns: int,
    reference_turns: int,
    pauses: list[float],
    regenerate: bool = False,
) -> dict[str, Any]:
    """The chats read their history once, then take turns (the reference for fewer)."""
    run = uuid.uuid4().hex[:8]
    chats = {"anchored": Chat(client, f"bench-long-{run}-1", moving=False)}
    for pause in pauses:
        key = f"bench-long-{run}-{len(chats) + 1}"  # chat N: histories alike in size
        chats[f"warmed {pause:g} s"] = Chat(client, key, False, pause, regenerate)
    moving = chats["moving"] = Chat(client, f"bench-long-{run}-{len(chats) + 1}", moving=True)
    for chat in chats.values():
        chat.turn(0)
        chat.stats.clear()  # the first read of the history is the same for all
    for number in range(1, turns + 1):
        for chat in chats.values():
            if chat is not moving or number <= reference_turns:
                chat.turn(number)
    result: dict[str, Any] = {name: chat.figures() for name, chat in chats.items()}
    anchored = result["anchored"]["mean_ms"]
    result["ratio_mean"] = anchored / result["moving"]["mean_ms"]
    result["warmed_over_anchored"] = {
        name: result[name]["mean_ms"] / anchored for name in chats if name.startswith("warmed")
    }
    return result


def report(model: str, result: dict[str, Any]) -> None:
    """Each chat's figures and the ratios, in words."""
    for name, side in result.items():
        if isinstance(side, dict) and "ttft_ms" in side:
            warms = f"; warms {side['warm_seconds']} s" if side["warm_seconds"] else ""
            print(
                f"{model} {name}: first token median {side['median_ms']:.0f} ms, mean "
                f"{side['mean_ms']:.0f} ms over {len(side['ttft_ms'])} turns; "
                f"{side['rereads']} read the history again; evaluated {side['evaluated']}{warms}"
            )
            for kind in ("regenerate_at_cut", "regenerate_other", "regenerate_ratio"):
                if kind in side:
                    print(f"  {kind}: {side[kind]}")
    print(f"ratio of the means (anchored / moving): {result['ratio_mean']:.3f}")
    for name, ratio in result["warmed_over_anchored"].items():
        print(f"ratio of the means ({name} / anchored, no warm): {ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(REAL_MODELS), default="starter")
    parser.add_argument("--turns", type=int, default=16)
    parser.add_argument("--reference-turns", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pauses", type=float, nargs="*", default=[5.0, math.inf])
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    result = measured_on_host(
        args.model,
        lambda client: measure(
            client, args.turns, args.reference_turns, args.pauses, args.regenerate
        ),
        N_CTX,
        args.threads,
    )
    report(args.model, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
