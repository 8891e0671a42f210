"""A chat with documents attached, longer than the context: the room reserved for the
passages (``ChatRequest.reserved_tokens``) against the fit without it (the reference, as
before round ten), in the same run.

    python tests/benchmarks/bench_document_chat.py [--model starter|gemma] [--turns 12]
        [--threads 1]

One engine host, context 4,096 tokens, replies of 128 tokens. A keywords-only collection of
40 generated chapters (too large to go in whole, so each question brings retrieved passages
of its own size, up to half the context, counted by the model) through the real documents
service. Two chats,
each from a 60-turn history (about 5,000 tokens: both must leave turns out), take turns in
alternation. As in the window, each is warmed as its reply ends (its history, no question:
the passages need the question, so the warm cannot have them) and the question is sent once
the warm is done; Send's last message is the numbered passages and the question, as the
documents hook makes it. One chat's warms and Sends reserve the passages' room, as ChatDesk
now does; the other's do not.

Prints each chat's time to first token (median and mean), the tokens each Send and each warm
evaluated, the ratio of the means (reserved over not reserved), and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import ReplyStats, SamplingSettings
from chatdesk.services.documents import DocumentService
from tests.benchmarks.bench_long_chat import starting_history, turn_figures
from tests.support.real_model import REAL_MODELS, measured_on_host

N_CTX = 4096
SAMPLING = SamplingSettings(temperature=0.0, max_tokens=128, ignore_eos=True)
TOPICS = ("harbour", "lighthouse", "railway", "orchard", "glacier", "market", "observatory")


def write_chapters(folder: Path) -> None:
    """40 chapters of varied prose about a few topics: retrieval brings a different set of
    passages, of a different size, for each question."""
    for number in range(40):
        topic = TOPICS[number % len(TOPICS)]
        lines = [
            f"Line {k} of chapter {number}: the {topic} was busy in the year {1800 + k * 7}, "
            f"and {TOPICS[(number + k) % len(TOPICS)]} people came by {k % 9 + 2} roads."
            for k in range(6 + 5 * (number % 9))
        ]
        (folder / f"chapter{number:02d}.md").write_text(
            f"# Chapter {number}\n\n" + "\n".join(lines)
        )


class DocumentChat:
    """One chat with the collection attached; ``reserve`` says whether its requests keep
    the passages' room free."""

    def __init__(self, client: EngineClient, documents: DocumentService, key: str, reserve: bool):
        self.client, self.documents, self.key = client, documents, key
        self.reserved = documents.passage_tokens(["library"], N_CTX) if reserve else 0
        self.history = starting_history(f"chat {key.rsplit('-', 1)[-1]}")
        self.stats: list[ReplyStats] = []
        self.warms: list[dict[str, Any]] = []

    def count(self, texts: Sequence[str]) -> list[int]:
        """The model's tokens of each text, as the app sizes the passages by."""
        return self.client.count_tokens(texts).result(timeout=60)

    def _request(self, messages: list[dict[str, str]]) -> ChatRequest:
        return ChatRequest.of(
            messages, sampling=SAMPLING, conversation_key=self.key, reserved_tokens=self.reserved
        )

    def turn(self, number: int) -> None:
        """Warm as the last reply ended (waiting until done), then ask with passages."""
        self.warms.append(dict(self.client.warm(self._request(self.history)).result(None)))
        question = f"What happened at the {TOPICS[number % len(TOPICS)]} in chapter {number}?"
        context = self.documents.context_for(question, ["library"], N_CTX, self.count)
        sent = [*self.history, {"role": "user", "content": context.prompt(question)}]
        stream = self.client.generate(self._request(sent))
        self.stats.append(stream.wait(timeout=1800))
        self.history += [
            {"role": "user", "content": question},  # stored as typed
            {"role": "assistant", "content": stream.text},
        ]

    def figures(self) -> dict[str, Any]:
        return {
            "reserved_tokens": self.reserved,
            **turn_figures(self.stats),
            "warm_evaluated": [w.get("evaluated", 0) for w in self.warms[1:]],
        }


def measure(client: EngineClient, turns: int) -> dict[str, Any]:
    """Both chats read their history once, then take turns in alternation."""
    run = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="chatdesk-bench-docs-") as folder:
        library = Path(folder) / "library"
        library.mkdir()
        write_chapters(library)
        documents = DocumentService(Path(folder), engine=client)
        documents.add([library], "library")
        documents.index_collection("library")
        chats = {
            "reserved": DocumentChat(client, documents, f"bench-docs-{run}-1", reserve=True),
            "not reserved": DocumentChat(client, documents, f"bench-docs-{run}-2", reserve=False),
        }
        for chat in chats.values():
            chat.turn(0)
            chat.stats.clear()  # the first read of the history is the same for both
        for number in range(1, turns + 1):
            for chat in chats.values():
                chat.turn(number)
        documents.close()  # the client is the benchmark's: it stays open
    result: dict[str, Any] = {name: chat.figures() for name, chat in chats.items()}
    result["ratio_mean"] = result["reserved"]["mean_ms"] / result["not reserved"]["mean_ms"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(REAL_MODELS), default="starter")
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    result = measured_on_host(
        args.model, lambda client: measure(client, args.turns), N_CTX, args.threads
    )
    for name in ("reserved", "not reserved"):
        side = result[name]
        print(
            f"{args.model} {name} ({side['reserved_tokens']} tokens): first token median "
            f"{side['median_ms']:.0f} ms, mean {side['mean_ms']:.0f} ms; Send evaluated "
            f"{side['evaluated']} of {side['prompt_tokens']}; warms evaluated "
            f"{side['warm_evaluated']}; dropped {side['dropped']}"
        )
    print(f"ratio of the means (reserved / not reserved): {result['ratio_mean']:.3f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
