"""Warming a conversation before its next turn, as the window does, over the real engine
host: also while the API server runs and the window's replies take its lane."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from chatdesk.engine.types import ReplyStats
from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from chatdesk.services.warming import warm_conversation
from tests.services.conftest import services_with
from tests.support.openai_servers import free_port

pytest.importorskip("llama_cpp")


def test_a_conversation_is_warmed_while_the_api_server_takes_the_replies(
    tiny_services: tuple[AppServices, EventQueue],
) -> None:
    app, events = tiny_services
    conversation = app.turns.new_conversation(settings={"max_tokens": 4})
    turn = app.turns.send(conversation.id, "Tell me about the harbour and its cranes. " * 20)
    assert events.run_until(lambda: turn.finished, timeout=60)
    server = app.api_server
    server.start("127.0.0.1", free_port())
    try:
        assert app.engine.engine is not app.engine.raw_engine  # replies take the lane
        client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0, timeout=60)
        model = client.models.list().data[0].id
        other = [{"role": "user", "content": "Something else entirely, about sheep. " * 20}]
        client.chat.completions.create(model=model, messages=other, max_tokens=4)  # type: ignore[arg-type]
        warming = warm_conversation(app.turns, conversation.id)  # the user went back to it
        assert warming is not None
        assert warming.result(timeout=60)["kv_source"] == "saved"
        ended: list[ReplyStats | None] = []
        app.turns.add_end_hook(lambda _turn, stats, _error: bool(ended.append(stats)))
        follow = app.turns.send(conversation.id, "And the lighthouse?")
        assert events.run_until(lambda: follow.finished, timeout=60)
    finally:
        server.stop()
    stats = ended[0]
    assert stats is not None
    assert stats.kv_source == "context"  # the warm had brought the conversation back
    assert stats.evaluated_prompt_tokens < 30 < stats.prompt_tokens  # the new message only


@pytest.fixture
def short_starter_services(starter_model_path: Path) -> Iterator[tuple[AppServices, EventQueue]]:
    """App services over a real host with the starter model in a 1,024-token context."""
    yield from services_with(starter_model_path, n_ctx=1024)


def test_in_a_document_chat_past_the_context_send_reads_only_what_its_warm_could_not_know(
    short_starter_services: tuple[AppServices, EventQueue], tmp_path: Path
) -> None:
    """Documents attached to a chat longer than the context: the warm as each reply ends
    cannot know the next question's passages, yet it must cut the history where Send will
    (the room the passages may take is reserved in both), so Send reads only the question
    and its passages, never the kept history again. (The starter model: the documents'
    budget counts characters as English prose tokenizes, which the tiny model's does not.)"""
    app, events = short_starter_services
    library = tmp_path / "library"
    library.mkdir()
    for name, fact in (("tunnel", "is 14 km long"), ("bridge", "has 9 arches")):
        (library / f"{name}.md").write_text(f"# The {name}\n\nThe {name} {fact}.\n")
    app.documents.add([library], "lib")
    app.documents.index_collection("lib")
    conversation = app.turns.new_conversation(settings={"max_tokens": 8})
    app.document_turns.attach(conversation.id, ["lib"])
    ended: list[ReplyStats | None] = []
    app.turns.add_end_hook(lambda _turn, stats, _error: bool(ended.append(stats)))
    warms = []
    for index in range(12):
        question = f"Question {index}: tell me about the tunnel and the bridge, and why? " * 5
        turn = app.turns.send(conversation.id, question)
        assert events.run_until(lambda: turn.finished, timeout=60)  # noqa: B023
        warming = warm_conversation(app.turns, conversation.id)  # as the reply ends
        assert warming is not None
        warms.append(warming.result(timeout=60))
    sends = [stats for stats in ended if stats is not None]
    assert len(sends) == 12
    assert sends[-1].dropped_messages > 0  # the chat outgrew the context
    assert any(warm["evaluated"] > 100 for warm in warms[1:]), warms  # a warm moved the cut
    for warm, send in zip(warms, sends[1:], strict=False):  # what Send could not have warmed
        assert send.kv_source == "context"
        assert send.evaluated_prompt_tokens <= send.prompt_tokens - warm["prompt_tokens"] + 4
