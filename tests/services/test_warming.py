"""Warming a conversation before its next turn, as the window does, over the real engine
host: also while the API server runs and the window's replies take its lane."""

from __future__ import annotations

import openai
import pytest

from chatdesk.engine.types import ReplyStats
from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from chatdesk.services.warming import warm_conversation
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
