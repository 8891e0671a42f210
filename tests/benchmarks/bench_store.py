"""Store benchmark: 10,000 conversations / 200,000 messages, then the three hot paths.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_store.py [--conversations N] [--per-chat M]``

Prints the median time of: the first page of the conversation list (target <= 20 ms), a
full-text search (<= 50 ms, the slowest of several queries) and one streaming update of a
message (<= 2 ms), each also as a ratio against references measured in the same run on the
same database: a ``SELECT 1`` round trip and a raw sqlite3 ``UPDATE`` of one message's text.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from chatdesk.store import Store
from chatdesk.store.models import new_id, utc_now
from chatdesk.store.unspaced import register

TARGETS_MS = {"list first page": 20.0, "full-text search": 50.0, "streaming update": 2.0}
FIXED_SEARCHES = ("python", "kyoto temples", "lap", "zzzz nothing")


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Made-up words plus a few real ones the searches look for."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(size)]
    return [*words, "python", "kyoto", "temples", "quantum", "recipe", "garlic", "laptop"]


def sentence(words: list[str], cumulative: list[float], rng: random.Random, length: int) -> str:
    return " ".join(rng.choices(words, cum_weights=cumulative, k=length))


def searches(words: list[str]) -> list[str]:
    """Queries from the most common word (matches most messages: the slow case) to none."""
    common, frequent, rare = words[0], words[10], words[2000]
    long_common = next(word for word in words if len(word) >= 7)  # past the prefix indexes
    return [
        common,
        f"{common} {frequent}",
        frequent,
        rare,
        common[:2],
        long_common,
        *FIXED_SEARCHES,
    ]


def populate(store: Store, conversations: int, per_chat: int, seed: int = 7) -> list[str]:
    """Bulk insert through the store's connection, in one transaction (triggers index text).

    Returns the vocabulary, most frequent word first.
    """
    rng = random.Random(seed)
    words = vocabulary(20_000, rng)
    weights = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(words))))  # Zipf
    now = utc_now()
    conn = store._db.conn
    with store.transaction():
        for n in range(conversations):
            cid = new_id()
            conn.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at, pinned)"
                " VALUES (?, ?, ?, ?, ?)",
                [cid, sentence(words, weights, rng, 4), now, f"{now}{n:06d}", int(n % 500 == 0)],
            )
            rows, parent = [], None
            for m in range(per_chat):
                mid = new_id()
                role = "user" if m % 2 == 0 else "assistant"
                length = rng.randint(8, 30) if role == "user" else rng.randint(30, 120)
                text = sentence(words, weights, rng, length)
                rows.append((mid, cid, parent, role, text, now))
                parent = mid
            conn.executemany(
                "INSERT INTO messages (id, conversation_id, parent_id, role, content, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute("UPDATE conversations SET active_leaf_id = ? WHERE id = ?", [parent, cid])
    store.set_setting("benchmark_vocabulary", words[:3000])
    return words


def vocabulary_of(store: Store) -> list[str]:
    """The vocabulary a kept benchmark database was built with."""
    words: list[str] = store.get_setting("benchmark_vocabulary", [])
    return words


def median_ms(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``action`` in milliseconds (after one warm-up call)."""
    action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def streaming_update(store: Store) -> Callable[[], object]:
    """One more chunk of a reply being streamed, as the engine would write it."""
    conversation = store.list_conversations(limit=1)[0]
    reply = store.append_message(conversation.id, "assistant", "", status="streaming")
    text: list[str] = []

    def update() -> None:
        text.append(" token")
        store.update_message(reply.id, content="".join(text))

    return update


def finish_reply(store: Store, words: list[str]) -> Callable[[], object]:
    """A whole reply: appended, filled with 120 words, marked complete (its text is indexed)."""
    conversation = store.list_conversations(limit=1)[0]
    rng = random.Random(3)

    def finish() -> None:
        reply = store.append_message(conversation.id, "assistant", "", status="streaming")
        store.update_message(reply.id, content=" ".join(rng.choices(words, k=120)))
        store.update_message(reply.id, status="complete")

    return finish


def raw_update(path: Path, store: Store) -> tuple[Callable[[], object], sqlite3.Connection]:
    """Reference: the bare sqlite3 UPDATE the store's streaming update boils down to."""
    conn = sqlite3.connect(path, isolation_level=None)
    register(conn)  # the messages' search triggers call it
    conn.execute("PRAGMA synchronous = NORMAL")
    conversation = store.list_conversations(limit=1)[0]
    reply = store.append_message(conversation.id, "assistant", "", status="streaming")
    seq = conn.execute("SELECT seq FROM messages WHERE id = ?", [reply.id]).fetchone()[0]
    text: list[str] = []

    def update() -> None:
        text.append(" token")
        conn.execute("UPDATE messages SET content = ? WHERE seq = ?", ["".join(text), seq])

    return update, conn


def measure(store: Store, path: Path, words: list[str]) -> dict[str, float]:
    figures = {"SELECT 1 (reference)": median_ms(lambda: store._db.execute("SELECT 1"), 2000)}
    raw, conn = raw_update(path, store)
    figures["raw sqlite3 UPDATE (reference)"] = median_ms(raw, 500)
    conn.close()
    figures["list first page"] = median_ms(lambda: store.list_conversations(limit=50), 200)
    per_query = {q: median_ms(functools.partial(store.search, q), 20) for q in searches(words)}
    for query, ms in per_query.items():
        print(f"  search {query!r}: {ms:.2f} ms, {len(store.search(query))} hits")
    figures["full-text search"] = max(per_query.values())
    figures["streaming update"] = median_ms(streaming_update(store), 500)
    figures["finish a reply"] = median_ms(finish_reply(store, words), 200)
    return figures


def report(figures: dict[str, float]) -> bool:
    select1 = figures["SELECT 1 (reference)"]
    raw = figures["raw sqlite3 UPDATE (reference)"]
    print(f"\nreference: SELECT 1 round trip {select1 * 1000:.1f} us;"
          f" raw sqlite3 UPDATE {raw * 1000:.1f} us")  # fmt: skip
    ok = True
    for name, target in TARGETS_MS.items():
        value = figures[name]
        reference = raw if name == "streaming update" else select1
        ref_name = "raw UPDATE" if name == "streaming update" else "SELECT 1"
        passed = value <= target
        ok &= passed
        print(
            f"{name:18s} {value:8.3f} ms  target <= {target:5.1f} ms  "
            f"{'OK  ' if passed else 'SLOW'}  {value / target:5.2f}x target  "
            f"{value / reference:8.1f}x {ref_name}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--per-chat", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="build the database here once, then reuse it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "bench.db"
        reuse = path.exists()
        store = Store(path)
        start = time.perf_counter()
        words = (
            vocabulary_of(store) if reuse else populate(store, args.conversations, args.per_chat)
        )
        print(
            f"{'reused' if reuse else 'built'} {store.count_conversations():,} conversations /"
            f" {store.count_messages():,} messages in {time.perf_counter() - start:.1f} s"
            f" ({path.stat().st_size / 2**20:.0f} MiB)"
        )
        figures = measure(store, path, words)
        store.close()
    ok = report(figures)
    finish = figures["finish a reply"]
    print(f"(info) append + fill + complete one 120-word reply (indexes it): {finish:.2f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
