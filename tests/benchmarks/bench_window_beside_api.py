"""A question with documents in the window while API clients keep the model busy, against
the same question with the API idle (the reference, same run).

    python tests/benchmarks/bench_window_beside_api.py [--model starter|gemma] [--questions 6]

The app's services over one engine host (as the app runs it, one thread, context 4,096),
the API server as the window starts it, a collection of one document attached to the
conversation (keywords only: no embedding model), and the window's turn through the turn
service with its document retrieval on a thread of its own. Busy: two ``openai`` clients
send 40-token requests one after another (``tests.support.busy_api``). Each question's time
from Send to the reply's first text, and how many API replies ended in between (the window's
reply is queued first; it should wait at most for the one running). Blocks of questions
alternate busy and idle.

Prints the medians, the ratio, the API replies ended per question, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions
from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from tests.support.busy_api import busy_clients
from tests.support.openai_servers import free_port
from tests.support.real_model import REAL_MODELS, real_model_or_exit, scratch_data_root

N_CTX = 4096
QUESTION = "When does the night ferry to Zanzibar leave?"


def ask(app: AppServices, events: EventQueue, number: int) -> tuple[float, int]:
    """One question in a new conversation with the collection: ms to its first text, and
    the API replies that ended meanwhile."""
    conversation = app.turns.new_conversation()
    app.document_turns.attach(conversation.id, ["ferries"])
    scheduler = app.api_server.scheduler
    ended, started = scheduler.completed, time.perf_counter()
    turn = app.turns.send(conversation.id, f"{QUESTION} ({number})")
    events.run_until(lambda: bool(turn.text) or turn.finished, timeout=600)
    first, meanwhile = time.perf_counter(), scheduler.completed - ended
    app.turns.stop()
    events.run_until(lambda: turn.finished, timeout=600)
    return 1000 * (first - started), meanwhile


def questions(app: AppServices, events: EventQueue, count: int) -> dict[str, Any]:
    url = app.api_server.url
    assert url is not None
    figures: dict[str, list[Any]] = {"busy_ms": [], "busy_ended": [], "idle_ms": []}
    for block in range(2):
        for way in ("busy", "idle") if block == 0 else ("idle", "busy"):
            for number in range(count // 2):
                if way == "busy":
                    with busy_clients(url):
                        events.run_until(lambda: bool(app.api_server.requests()), timeout=60)
                        ms, ended = ask(app, events, number)
                    figures["busy_ended"].append(ended)
                else:
                    ms, _ended = ask(app, events, number)
                figures[f"{way}_ms"].append(ms)
    return figures


def measure(model: Path, count: int) -> dict[str, Any]:
    with scratch_data_root(), tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "ferries.md").write_text(f"# Ferries\n\n{QUESTION} Pier 4 at seven.\n")
        app = AppServices.create(client_factory=EngineClient)
        try:
            events = EventQueue()
            app.set_dispatch(events, offload=lambda work: threading.Thread(target=work).start())
            app.engine.load(str(model), LoadOptions(model, n_ctx=N_CTX, n_threads=1))
            assert events.run_until(lambda: app.engine.ready, timeout=600)
            app.documents.add([Path(folder)], "ferries")
            app.documents.index_collection("ferries")
            app.api_server.start("127.0.0.1", free_port())
            return questions(app, events, count)
        finally:
            app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(REAL_MODELS), default="starter")
    parser.add_argument("--questions", type=int, default=6, help="each way")
    args = parser.parse_args()
    result = measure(real_model_or_exit(args.model), args.questions)
    busy, idle = statistics.median(result["busy_ms"]), statistics.median(result["idle_ms"])
    result["ratio"] = busy / idle
    print(
        f"{args.model}: first text {busy:.0f} ms with the API busy, {idle:.0f} ms idle "
        f"({busy / idle:.2f}); API replies ended meanwhile: {result['busy_ended']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
