"""The turn service over the real engine host: continuing a reply cut off at max tokens."""

from __future__ import annotations

import pytest

from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow


def test_a_reply_cut_at_max_tokens_is_continued_in_place(
    real_services: tuple[AppServices, EventQueue],
) -> None:
    app, events = real_services
    conversation = app.turns.new_conversation(settings={"temperature": 0.0, "max_tokens": 3})
    turn = app.turns.send(conversation.id, "Count from one to twenty in words, commas between.")
    assert events.run_until(lambda: turn.finished, timeout=120)
    cut = app.chat.message(turn.message_id)
    assert cut.finish_reason == "length"
    more = app.turns.continue_reply(cut)
    assert events.run_until(lambda: more.finished, timeout=120)
    reply = app.chat.message(cut.id)
    assert reply.status == "complete", reply.error
    assert reply.content.startswith(cut.content)
    assert len(reply.content) > len(cut.content)
    assert len(app.chat.messages(conversation.id)) == 2
