"""Context fitting: whole oldest turns go first, the newest always stays, overflow is explained."""

from __future__ import annotations

from typing import Any

import pytest

from chatdesk.engine.builtin_templates import BUILTIN_TEMPLATES
from chatdesk.engine.context_fit import ContextOverflowError, fit_conversation, turn_starts
from chatdesk.engine.templates import render_prompt


def chatml(system_prompt: str, messages: list[dict[str, Any]]) -> str:
    return render_prompt(BUILTIN_TEMPLATES["chatml"], system_prompt, messages)


def words(text: str) -> int:
    """A stand-in tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def conversation(turns: int, words_per_message: int = 10) -> list[dict[str, Any]]:
    messages = []
    for i in range(turns):
        messages.append({"role": "user", "content": f"question{i} " + "w " * words_per_message})
        messages.append({"role": "assistant", "content": f"answer{i} " + "w " * words_per_message})
    return messages


class CountingRender:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, system_prompt: str, messages: list[dict[str, Any]]) -> str:
        self.calls += 1
        return chatml(system_prompt, messages)


def test_conversation_that_fits_is_kept_whole_with_one_render() -> None:
    render = CountingRender()
    messages = [*conversation(3), {"role": "user", "content": "last one"}]
    result = fit_conversation("Be brief.", messages, render, words, n_ctx=4096, reply_budget=512)
    assert result.messages == messages
    assert result.dropped_count == 0
    assert not result.dropped
    assert result.prompt_text == chatml("Be brief.", messages)
    assert result.prompt_tokens == words(result.prompt_text)
    assert render.calls == 1


def test_oldest_turns_are_dropped_whole_and_newest_kept() -> None:
    messages = [*conversation(20), {"role": "user", "content": "newest question"}]
    full = words(chatml("System says hi.", messages))
    result = fit_conversation("System says hi.", messages, chatml, words, full // 2 + 100, 100)
    assert result.dropped_count > 0
    assert result.dropped_count % 2 == 0  # a user message and its reply go together
    assert result.messages == messages[result.dropped_count :]
    assert result.messages[0]["role"] == "user"
    assert result.messages[-1]["content"] == "newest question"
    assert result.prompt_text.startswith("<|im_start|>system\nSystem says hi.<|im_end|>")
    assert result.prompt_tokens <= result.token_budget == full // 2
    # as many turns as possible: keeping one more turn would not fit
    one_more = messages[result.dropped_count - 2 :]
    assert words(chatml("System says hi.", one_more)) > result.token_budget


def test_turn_starts_cover_leading_assistant_and_consecutive_users() -> None:
    roles = ["assistant", "user", "assistant", "tool", "user", "user", "assistant"]
    assert turn_starts([{"role": r, "content": ""} for r in roles]) == [0, 1, 4, 5]
    assert turn_starts([]) == []


def test_long_chat_needs_logarithmically_many_renders() -> None:
    render = CountingRender()
    messages = conversation(1000, words_per_message=5)  # 2,000 messages
    result = fit_conversation("S", messages, render, words, n_ctx=2000, reply_budget=500)
    assert 0 < len(result.messages) < 200
    assert render.calls <= 12


def test_newest_message_too_large_is_a_clear_error() -> None:
    messages = [*conversation(2), {"role": "user", "content": "word " * 5000}]
    with pytest.raises(ContextOverflowError) as raised:
        fit_conversation("Be brief.", messages, chatml, words, n_ctx=4096, reply_budget=1024)
    error = raised.value
    assert error.available == 3072
    assert error.needed > 5000
    text = str(error)
    assert "newest message" in text
    assert f"{error.needed:,}" in text
    assert "3,072" in text
    assert "4,096" in text
    assert "1,024" in text


def test_reply_budget_larger_than_context_is_an_error() -> None:
    with pytest.raises(ContextOverflowError, match="no room"):
        fit_conversation("", conversation(1), chatml, words, n_ctx=512, reply_budget=512)


def test_system_prompt_alone_too_large_is_named() -> None:
    with pytest.raises(ContextOverflowError, match=r"^The system prompt need"):
        fit_conversation("x " * 600, [], chatml, words, n_ctx=512, reply_budget=10)
