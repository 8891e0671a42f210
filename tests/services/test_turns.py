"""The turn service driven with a scripted engine and no Qt: what gets stored, and when."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatdesk.engine.types import EngineError, ReplyEvent, TextDelta
from chatdesk.services.app_services import AppServices
from chatdesk.services.engine_session import ModelState
from chatdesk.services.events import EventQueue
from chatdesk.services.settings import DEFAULT_SAMPLING
from chatdesk.services.turns import ChatError, Turn, TurnRequest, title_for
from tests.support.scripted_engine import ScriptedEngine


def finish(events: EventQueue, turn: Turn) -> None:
    assert events.run_until(lambda: turn.finished, timeout=10)


def test_send_stores_the_exchange_with_model_settings_and_stats(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    conversation = services.turns.new_conversation()
    turn = services.turns.send(conversation.id, "  What   is a list?  ")
    finish(events, turn)
    stored = services.store.get_conversation(conversation.id)
    assert stored.title == "What is a list?"
    assert stored.model == str(fake_gguf)
    assert stored.model_identity["path"] == str(fake_gguf)
    assert stored.model_identity["size"] == fake_gguf.stat().st_size
    user, reply = services.chat.messages(conversation.id)
    assert (user.role, user.content) == ("user", "  What   is a list?  ")
    assert reply.status == "complete"
    assert reply.content == "".join(scripted_engine.token_list())
    assert reply.model == str(fake_gguf)
    assert reply.model_identity["kind"] == "local"
    assert reply.settings == DEFAULT_SAMPLING
    assert reply.completion_tokens == 40
    assert reply.finish_reason == "length"
    assert reply.time_to_first_token_ms == 10.0
    assert reply.n_ctx == 2048
    assert reply.dropped_messages == 0
    assert reply.error is None
    assert scripted_engine.requests[-1]["messages"] == [
        {"role": "user", "content": "  What   is a list?  "}
    ]


def test_title_rule() -> None:
    assert title_for("a " * 100) == ("a " * 30)[:59].rstrip() + "…"
    assert len(title_for("x" * 200)) == 60
    assert title_for("   ") == "New chat"


def stopped_reply(services: AppServices, events: EventQueue, engine: ScriptedEngine) -> Turn:
    """A long reply, stopped once some text arrived."""
    engine.tokens, engine.rate = 5000, 500.0
    turn = services.turns.send(services.turns.new_conversation().id, "write a lot")
    assert events.run_until(lambda: len(turn.text) > 20, timeout=10)
    services.turns.stop()
    finish(events, turn)
    return turn


def test_stop_keeps_the_text_as_interrupted(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    turn = stopped_reply(services, events, scripted_engine)
    reply = services.chat.message(turn.message_id)
    assert reply.status == "interrupted"
    assert reply.finish_reason == "cancelled"
    assert reply.content == turn.text
    assert len(reply.content) > 20


def test_partial_text_is_saved_while_streaming(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.tokens, scripted_engine.rate = 5000, 500.0
    turn = services.turns.send(services.turns.new_conversation().id, "write a lot")
    assert events.run_until(
        lambda: len(services.chat.message(turn.message_id).content) > 20, timeout=10
    )
    assert services.chat.message(turn.message_id).status == "streaming"
    services.turns.stop()
    finish(events, turn)


def test_regenerate_adds_a_sibling_reply(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    conversation = services.turns.new_conversation()
    first = services.turns.send(conversation.id, "question")
    finish(events, first)
    scripted_engine.text = "Another answer. "
    old = services.chat.message(first.message_id)
    second = services.turns.regenerate(old)
    finish(events, second)
    user, reply = services.chat.messages(conversation.id)
    assert reply.id == second.message_id
    assert reply.id != old.id
    assert reply.parent_id == old.parent_id == user.id
    assert reply.content.startswith("Another answer.")
    assert services.chat.sibling_position(reply) == (2, 2)
    assert scripted_engine.requests[-1]["messages"] == [{"role": "user", "content": "question"}]
    with pytest.raises(ChatError):
        services.turns.regenerate(user)


def test_edit_and_resend_branches_from_the_edited_message(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    conversation = services.turns.new_conversation()
    finish(events, services.turns.send(conversation.id, "original"))
    original = services.chat.messages(conversation.id)[0]
    finish(events, services.turns.edit_and_resend(original, "edited"))
    user, reply = services.chat.messages(conversation.id)
    assert user.content == "edited"
    assert user.parent_id is None
    assert reply.status == "complete"
    assert services.chat.message(original.id).content == "original"
    assert services.chat.sibling_position(user) == (2, 2)
    assert scripted_engine.requests[-1]["messages"] == [{"role": "user", "content": "edited"}]


def test_engine_death_with_text_is_interrupted_and_needs_a_reload(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.tokens, scripted_engine.rate = 5000, 500.0
    turn = services.turns.send(services.turns.new_conversation().id, "write a lot")
    assert events.run_until(lambda: len(turn.text) > 20, timeout=10)
    scripted_engine.streams[-1].kill_host()
    finish(events, turn)
    reply = services.chat.message(turn.message_id)
    assert reply.status == "interrupted"
    assert reply.content == turn.text
    assert reply.error is not None
    assert "killed" in reply.error
    assert turn.host_died
    assert services.engine.status.state is ModelState.DIED
    with pytest.raises(ChatError, match="no model"):
        services.turns.send(reply.conversation_id, "again")


def test_engine_failure_without_text_is_an_error(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.failure = EngineError("the prompt does not fit", "context_overflow")
    conversation = services.turns.new_conversation()
    turn = services.turns.send(conversation.id, "hello")
    finish(events, turn)
    reply = services.chat.message(turn.message_id)
    assert (reply.status, reply.content) == ("error", "")
    assert reply.error == "the prompt does not fit"
    assert reply.finish_reason == "error"
    assert services.engine.ready  # a failed reply is not a dead engine
    scripted_engine.failure = None
    finish(events, services.turns.send(conversation.id, "again"))
    sent = scripted_engine.requests[-1]["messages"]
    assert sent == [{"role": "user", "content": "hello"}, {"role": "user", "content": "again"}]


def test_context_overflow_records_the_dropped_messages(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.dropped = 3
    turn = services.turns.send(services.turns.new_conversation().id, "question")
    finish(events, turn)
    reply = services.chat.message(turn.message_id)
    assert (reply.n_ctx, reply.dropped_messages) == (2048, 3)
    note = services.chat.context_note(reply)
    assert note is not None
    assert note.dropped == 3


def test_one_reply_at_a_time(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.tokens, scripted_engine.rate = 5000, 500.0
    conversation = services.turns.new_conversation()
    turn = services.turns.send(conversation.id, "first")
    with pytest.raises(ChatError, match="still being written"):
        services.turns.send(conversation.id, "second")
    services.turns.stop()
    finish(events, turn)


def test_hooks_change_the_request_and_store_per_reply_data(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    def add_passage(request: TurnRequest) -> None:
        request.chat = request.chat.replace(system_prompt="Use the passage.")
        request.extras["passages"] = ["p1"]

    def count_pieces(turn: Turn, event: ReplyEvent) -> None:
        if isinstance(event, TextDelta):
            turn.data["pieces"] = turn.data.get("pieces", 0) + 1

    services.turns.add_request_hook(add_passage)
    services.turns.add_event_hook(count_pieces)
    turn = services.turns.send(services.turns.new_conversation().id, "q", {"logprobs": True})
    finish(events, turn)
    assert turn.request.extras == {"passages": ["p1"], "logprobs": True}
    assert scripted_engine.requests[-1]["system_prompt"] == "Use the passage."
    assert services.chat.message(turn.message_id).extra == {"pieces": 40}


def test_no_model_means_no_turn(tmp_path: Path) -> None:
    app = AppServices.create(client_factory=ScriptedEngine)  # type: ignore[arg-type]
    try:
        conversation = app.turns.new_conversation()
        with pytest.raises(ChatError, match="no model"):
            app.turns.send(conversation.id, "hello")
        assert app.chat.messages(conversation.id) == []
    finally:
        app.close()


def test_continue_carries_on_writing_the_same_reply(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    first = stopped_reply(services, events, scripted_engine)
    cut = services.chat.message(first.message_id)
    assert cut.status == "interrupted"
    scripted_engine.text, scripted_engine.tokens = "and the rest. ", 3
    more = services.turns.continue_reply(cut)
    finish(events, more)
    user, reply = services.chat.messages(first.conversation_id)
    assert reply.id == cut.id  # the same row, not a sibling
    assert reply.content == cut.content + "and the rest. "
    assert reply.status == "complete"
    assert services.chat.sibling_position(reply) == (1, 1)
    assert scripted_engine.requests[-1]["messages"] == [
        {"role": "user", "content": "write a lot"},
        {"role": "assistant", "content": cut.content},
    ]
    with pytest.raises(ChatError, match="some text"):
        services.turns.continue_reply(user)
