"""Few-shot examples are pinned like the system prompt when a chat is fitted."""

from __future__ import annotations

import pytest

from chatdesk.engine.context_fit import (
    ContextOverflowError,
    example_messages,
    fit_conversation,
    pinned_count,
)
from tests.engine.test_context_fit import chatml, conversation, words

PAIRS = [{"user": "cat", "assistant": "chat"}, {"user": "dog", "assistant": "chien"}]


def test_examples_become_marked_user_assistant_messages() -> None:
    messages = example_messages(PAIRS)
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "cat"), ("assistant", "chat"), ("user", "dog"), ("assistant", "chien")
    ]  # fmt: skip
    assert pinned_count([*messages, *conversation(2)]) == 4


def test_examples_are_kept_when_old_turns_are_dropped() -> None:
    messages = example_messages(PAIRS) + conversation(40)
    fit = fit_conversation("Translate.", messages, chatml, words, 400, 100)
    assert fit.dropped
    assert fit.pinned == 4
    assert fit.messages[:4] == example_messages(PAIRS)
    assert fit.messages[4]["role"] == "user"
    assert fit.messages[-1] == messages[-1]
    assert fit.dropped_count == len(messages) - len(fit.messages)
    assert "chien" in fit.prompt_text
    assert fit.prompt_tokens <= 300


def test_examples_count_against_the_budget() -> None:
    chat = conversation(40)
    without = fit_conversation("", chat, chatml, words, 400, 100)
    long_pairs = [{"user": "x " * 40, "assistant": "y " * 40}]
    with_examples = fit_conversation(
        "", example_messages(long_pairs) + chat, chatml, words, 400, 100
    )
    assert with_examples.dropped_count > without.dropped_count


def test_examples_too_large_are_named_in_the_error() -> None:
    huge = [{"user": "x " * 500, "assistant": "y"}]
    with pytest.raises(ContextOverflowError, match="the examples"):
        fit_conversation("", example_messages(huge) + conversation(1), chatml, words, 400, 100)
