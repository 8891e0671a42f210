"""Context fitting: whole oldest turns go first, the newest always stays, overflow is explained."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from chatdesk.engine.builtin_templates import BUILTIN_TEMPLATES
from chatdesk.engine.context_fit import (
    MESSAGE_OVERHEAD,
    ContextOverflowError,
    FitResult,
    anchor_starts,
    fit_conversation,
    message_text,
    next_message_room,
    turn_starts,
)
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
        self.largest = 0

    def __call__(self, system_prompt: str, messages: list[dict[str, Any]]) -> str:
        self.calls += 1
        self.largest = max(self.largest, len(messages))
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
    assert_cut_at_the_oldest_fitting_anchor("System says hi.", messages, result)
    # at most about half the room is left empty by the cut (as the fit sizes messages: each
    # one's words and MESSAGE_OVERHEAD, which this one-word-a-tag stand-in overcounts)
    assert history_size(result.messages) + next_message_room(result.token_budget) > (
        result.token_budget // 2
    )


def history_size(messages: list[dict[str, Any]]) -> int:
    """What the fit counts for ``messages`` before a trailing user message."""
    history = messages[:-1] if messages[-1]["role"] == "user" else messages
    return sum(words(message_text(message)) + MESSAGE_OVERHEAD for message in history)


def assert_cut_at_the_oldest_fitting_anchor(
    system: str, messages: list[dict[str, Any]], result: FitResult
) -> None:
    """The kept part starts at an anchor, and the anchor before it would not fit, or its
    history would not leave the next message's room."""
    room = result.token_budget - words(system)
    anchors = anchor_starts(messages, turn_starts(messages), room // 2, words)
    assert result.dropped_count in anchors
    earlier = anchors[anchors.index(result.dropped_count) - 1]
    spare = next_message_room(result.token_budget)
    fits = words(chatml(system, messages[earlier:])) <= result.token_budget
    assert not fits or history_size(messages[earlier:]) + spare > room


def test_turn_starts_cover_leading_assistant_and_consecutive_users() -> None:
    roles = ["assistant", "user", "assistant", "tool", "user", "user", "assistant"]
    assert turn_starts([{"role": r, "content": ""} for r in roles]) == [0, 1, 4, 5]
    assert turn_starts([]) == []


def test_long_chat_needs_logarithmically_many_renders() -> None:
    render = CountingRender()
    messages = conversation(1000, words_per_message=5)  # 2,000 messages
    result = fit_conversation("S", messages, render, words, n_ctx=2000, reply_budget=500)
    assert 0 < len(result.messages) < 200
    assert render.calls <= 16
    assert render.largest <= 2 * len(result.messages)  # never the whole 2,000 messages
    assert_cut_at_the_oldest_fitting_anchor("S", messages, result)


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


def test_dense_text_that_fits_is_still_kept_whole() -> None:
    """Skipping the whole-chat render for long texts must not drop turns that fit."""
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": "x" * 2000} for i in range(9)
    ]
    result = fit_conversation("", messages, chatml, words, n_ctx=1000, reply_budget=500)
    assert result.dropped_count == 0
    assert result.messages == messages


def test_a_growing_chat_keeps_its_cut_so_each_turn_extends_the_last_prompt() -> None:
    """Past the context, the kept part must not start one turn later every turn: each
    engine reuses only an unchanged prefix, so that re-read the whole history each turn."""
    messages = conversation(40)
    budget_tokens = 600
    results = []
    for index in range(40, 80):
        messages += [
            {"role": "user", "content": f"question{index} " + "w " * 10},
            {"role": "assistant", "content": f"answer{index} " + "w " * 10},
        ]
        results.append(fit_conversation("S", list(messages), chatml, words, 700, 100))
    cuts = [result.dropped_count for result in results]
    assert all(result.prompt_tokens <= budget_tokens for result in results)
    assert len(set(cuts)) <= 6  # 40 turns of 26 tokens (36 as sized): a cut every ~9 turns
    assert sum(a.dropped_count == b.dropped_count for a, b in itertools.pairwise(results)) >= 33
    for previous, result in itertools.pairwise(results):
        if previous.dropped_count == result.dropped_count:
            assert result.prompt_text.startswith(
                previous.prompt_text.removesuffix("<|im_start|>assistant\n")
            )
        else:  # a cut drops about half the room at once
            moved = words(chatml("S", messages[previous.dropped_count : result.dropped_count]))
            assert 200 <= moved <= 340


def test_anchors_do_not_move_as_a_chat_grows() -> None:
    messages = conversation(30)
    before = anchor_starts(messages, turn_starts(messages), 100, words)
    longer = messages + conversation(30)
    after = anchor_starts(longer, turn_starts(longer), 100, words)
    assert after[: len(before)] == before
    assert len(before) > 3
    assert before[0] == 0


def test_a_newest_turn_too_long_for_any_anchor_still_keeps_what_fits() -> None:
    messages = [*conversation(20), {"role": "user", "content": "long " * 540}]
    result = fit_conversation("S", messages, chatml, words, n_ctx=700, reply_budget=100)
    assert result.messages[-1] == messages[-1]
    assert result.prompt_tokens <= result.token_budget
    one_more = messages[result.dropped_count - 2 :]  # the oldest turn start that fits
    assert words(chatml("S", one_more)) > result.token_budget


def test_a_message_is_sized_by_its_text_and_tool_calls() -> None:
    call = {"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    sized = message_text({"role": "assistant", "content": None, "tool_calls": [call]})
    assert "get_weather" in sized
    assert not sized.startswith("null")
    assert message_text({"role": "user", "content": "hello"}) == "hello"


def test_a_warm_as_the_reply_ends_chooses_the_cut_send_will_choose() -> None:
    """The window warms a chat (its history, no new message yet) as each reply ends; Send
    then adds a short question. Both must cut at the same place, or the warm read the
    wrong part and Send reads again."""
    messages = conversation(40)
    differing = []
    for index in range(40, 80):
        warm = fit_conversation("S", list(messages), chatml, words, 700, 100)
        question = {"role": "user", "content": f"question{index} " + "w " * (index % 25)}
        send = fit_conversation("S", [*messages, question], chatml, words, 700, 100)
        if warm.dropped_count != send.dropped_count:
            differing.append(index)
        messages += [question, {"role": "assistant", "content": f"answer{index} " + "w " * 40}]
    assert not differing


def test_a_warm_chooses_the_cut_send_will_choose_when_passages_join_the_question() -> None:
    """In a chat with documents, Send's question carries passages (up to the reserved
    room) that the warm as the reply ends cannot know: the room reserved for them keeps
    both cutting at the same place, however many passages a question brings, and the cut
    never goes back to an older start (each move back and forth is a read again)."""
    messages, reserved = conversation(40), 250
    differing, cuts = [], []
    for index in range(40, 80):
        warm = fit_conversation("S", list(messages), chatml, words, 700, 100, reserved=reserved)
        passages = "passage " * (40 + 47 * index % 200)  # 40-239 words, varying
        question = {"role": "user", "content": passages + f"question{index}?"}
        asked = [*messages, question]
        send = fit_conversation("S", asked, chatml, words, 700, 100, reserved=reserved)
        if warm.dropped_count != send.dropped_count:
            differing.append(index)
        cuts.append(send.dropped_count)
        messages += [{**question, "content": f"question{index}?"}]  # stored as typed
        messages += [{"role": "assistant", "content": f"answer{index} " + "w " * 40}]
    assert not differing
    assert cuts == sorted(cuts)
