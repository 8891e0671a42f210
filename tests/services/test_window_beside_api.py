"""A question with documents in the window while API clients keep the model busy.

The real engine host and starter model, the API server as the window starts it (over the
app's services), two ``openai`` clients sending one request after another (``busy_api``),
and the window's turn through the turn service, its document retrieval on a thread of its
own as in the window.
"""

from __future__ import annotations

import threading
from pathlib import Path

from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from tests.support.busy_api import busy_clients
from tests.support.openai_servers import free_port

QUESTION = "When does the night ferry to Zanzibar leave?"


def test_a_document_question_waits_only_for_the_api_reply_already_running(
    real_services: tuple[AppServices, EventQueue], tmp_path: Path
) -> None:
    """The window's turn counts its passages on the engine before it asks for its reply.
    Each count queued behind the API reply running, and the scheduler started the next API
    reply as that one ended, before the window's was asked for: the window waited for two
    API replies or more. Now the scheduler holds the API's queue while the turn is
    prepared, so the window waits at most for the reply already running."""
    services, events = real_services
    services.set_dispatch(events, offload=lambda work: threading.Thread(target=work).start())
    (tmp_path / "ferries.md").write_text(f"# Ferries\n\n{QUESTION[:-1]}s from pier 4 at seven.\n")
    services.documents.add([tmp_path], "ferries")
    services.documents.index_collection("ferries")
    conversation = services.turns.new_conversation()
    services.document_turns.attach(conversation.id, ["ferries"])
    server = services.api_server
    server.start("127.0.0.1", free_port())
    scheduler = server.scheduler
    try:
        with busy_clients(server.url):
            assert events.run_until(lambda: scheduler.completed >= 2, timeout=300)
            ended_before = scheduler.completed
            turn = services.turns.send(conversation.id, QUESTION)
            assert events.run_until(lambda: bool(turn.text) or turn.finished, timeout=300)
            ended_meanwhile = scheduler.completed - ended_before
    finally:
        server.stop()
    assert turn.error is None, turn.error
    assert ended_meanwhile <= 1  # the API reply running when Send was pressed, at most
