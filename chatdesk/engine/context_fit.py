"""Fit a conversation into the model's context window before each reply.

The prompt must leave ``reply_budget`` tokens free in a context of ``n_ctx``. When the
whole conversation does not fit, the oldest turns are dropped whole (a turn is a user
message and the replies that follow it) while the system prompt and the newest turns
stay; the result says how many messages were dropped so the GUI can tell the user.
The newest turn alone not fitting is an error with the numbers in it, never a silent cut.

The prompt's token count is not additive over messages (templates add headers, merge
system prompts, tokens merge across boundaries), so candidates are really rendered and
counted; the cut point is found by binary search over turn starts: O(log turns) renders
for a long chat instead of one per dropped turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]
RenderFn = Callable[[str, list[Message]], str]  # (system prompt, messages) -> prompt text
CountFn = Callable[[str], int]  # prompt text -> tokens


class ContextOverflowError(Exception):
    """Even the system prompt and the newest turn do not fit in the context window."""

    def __init__(self, message: str, *, needed: int, available: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.available = available


@dataclass(frozen=True)
class FitResult:
    """What goes into the prompt: the kept messages (newest part) and their rendering."""

    messages: list[Message]
    dropped_count: int  # oldest messages left out
    prompt_tokens: int
    prompt_text: str
    token_budget: int  # n_ctx - reply_budget

    @property
    def dropped(self) -> bool:
        return self.dropped_count > 0


def turn_starts(messages: Sequence[Message]) -> list[int]:
    """Indexes where a turn begins: 0, and every user message after it."""
    starts = [0] if messages else []
    starts += [i for i, m in enumerate(messages) if i > 0 and m.get("role") == "user"]
    return starts


class _Measure:
    """Renders and counts candidates ``messages[start:]``, remembering each result."""

    def __init__(
        self, system_prompt: str, messages: list[Message], render: RenderFn, count: CountFn
    ) -> None:
        self.system_prompt = system_prompt
        self.messages = messages
        self.render = render
        self.count = count
        self.results: dict[int, tuple[str, int]] = {}

    def __call__(self, start: int) -> tuple[str, int]:
        if start not in self.results:
            text = self.render(self.system_prompt, self.messages[start:])
            self.results[start] = (text, self.count(text))
        return self.results[start]


def _overflow(measure: _Measure, last_start: int, budget: int, n_ctx: int, reply: int) -> None:
    needed = measure(last_start)[1]
    newest = len(measure.messages) - last_start
    what = {0: "The system prompt", 1: "The system prompt and the newest message"}.get(
        newest, f"The system prompt and the newest turn ({newest} messages)"
    )
    raise ContextOverflowError(
        f"{what} need {needed:,} tokens, but only {budget:,} fit "
        f"(context {n_ctx:,} minus {reply:,} reserved for the reply). Shorten the message or "
        "system prompt, lower the reply length, or raise the context length.",
        needed=needed,
        available=budget,
    )


def fit_conversation(  # noqa: PLR0917 - the engine passes all six positionally
    system_prompt: str,
    messages: list[Message],
    render: RenderFn,
    count_tokens: CountFn,
    n_ctx: int,
    reply_budget: int,
) -> FitResult:
    """Keep the system prompt and as many of the newest whole turns as fit."""
    budget = n_ctx - reply_budget
    if budget <= 0:
        raise ContextOverflowError(
            f"A reply budget of {reply_budget:,} tokens leaves no room for the prompt in a "
            f"context of {n_ctx:,} tokens.",
            needed=reply_budget,
            available=n_ctx,
        )
    measure = _Measure(system_prompt, messages, render, count_tokens)
    all_starts = turn_starts(messages) or [0]
    starts = all_starts
    if measure(starts[0])[1] > budget:
        starts = _newest_fitting(measure, starts, budget)
        if not starts:
            _overflow(measure, all_starts[-1], budget, n_ctx, reply_budget)
    start = starts[0]
    text, tokens = measure(start)
    return FitResult(messages[start:], start, tokens, text, budget)


def _newest_fitting(measure: _Measure, starts: list[int], budget: int) -> list[int]:
    """Turn starts from the oldest one whose suffix fits (binary search; [] if none fits).

    Assumes dropping turns never makes the prompt longer, which holds for chat templates.
    """
    low, high = 1, len(starts)  # starts[0] is known not to fit
    while low < high:
        middle = (low + high) // 2
        if measure(starts[middle])[1] <= budget:
            high = middle
        else:
            low = middle + 1
    if low == len(starts):
        return []
    return starts[low:]
