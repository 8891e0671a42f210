"""Token probabilities and few-shot examples through the turn service, on the real model."""

from __future__ import annotations

import pytest

from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow
GREEDY = {"temperature": 0.0, "max_tokens": 8, "repeat_penalty": 1.0}
PAIRS = [{"user": "cat", "assistant": "chat"}, {"user": "dog", "assistant": "chien"}]


def test_probabilities_are_stored_with_the_reply_when_on(
    real_services: tuple[AppServices, EventQueue],
) -> None:
    app, events = real_services
    conversation = app.turns.new_conversation(settings=GREEDY)
    plain = app.turns.send(conversation.id, "What is the capital of France? Answer in one word.")
    assert events.run_until(lambda: plain.finished, timeout=120)
    assert app.store.token_probabilities(plain.message_id) is None  # off by default
    app.probabilities.set_alternatives(5)
    turn = app.turns.send(conversation.id, "And of Italy?")
    assert events.run_until(lambda: turn.finished, timeout=120)
    kept = app.store.token_probabilities(turn.message_id)
    assert kept is not None
    assert len(kept) == app.chat.message(turn.message_id).completion_tokens
    assert all(len(choice.top) == 5 for choice in kept)
    assert "".join(c.text for c in kept).strip() == app.chat.message(turn.message_id).content


def test_examples_are_in_the_prompt_and_pinned(
    real_services: tuple[AppServices, EventQueue],
) -> None:
    app, events = real_services
    conversation = app.turns.new_conversation("Translate to French.", GREEDY)
    app.store.update_conversation(conversation.id, examples=PAIRS)
    turn = app.turns.send(conversation.id, "horse")
    assert events.run_until(lambda: turn.finished, timeout=120)
    future = app.chat.render_prompt(conversation.id)
    assert events.run_until(future.done, timeout=60)
    prompt, _count = future.result()
    assert prompt.index("chien") < prompt.index("horse")
    reply = app.chat.message(turn.message_id)
    assert reply.dropped_messages == 0
    assert reply.prompt_tokens is not None
    assert reply.prompt_tokens > 20


def test_choosing_an_alternative_makes_a_branch_that_continues_from_it(
    real_services: tuple[AppServices, EventQueue],
) -> None:
    app, events = real_services
    app.probabilities.set_alternatives(3)
    conversation = app.turns.new_conversation("You are a helpful assistant.", GREEDY)
    turn = app.turns.send(conversation.id, "What is the capital of France? Answer in one word.")
    assert events.run_until(lambda: turn.finished, timeout=120)
    reply = app.chat.message(turn.message_id)
    choices = app.store.token_probabilities(reply.id)
    assert choices is not None
    second_best = choices[0].top[1]
    branch = app.probabilities.branch(app.turns, reply, 0, second_best)
    assert events.run_until(lambda: branch.finished, timeout=120)
    new = app.chat.message(branch.message_id)
    assert new.parent_id == reply.parent_id
    assert new.content.startswith(second_best.text.strip())
    assert len(new.content) > len(second_best.text.strip())
    assert [m.id for m in app.store.siblings(reply.id)] == [reply.id, new.id]
    kept = app.store.token_probabilities(new.id)
    assert kept is not None
    assert kept[0].token == second_best.token
