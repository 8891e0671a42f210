"""Fit a conversation into the model's context window before each reply.

The prompt must leave ``reply_budget`` tokens free in a context of ``n_ctx``. When the
whole conversation does not fit, the oldest turns are dropped whole (a turn is a user
message and the replies that follow it) while the system prompt and the newest turns
stay; the result says how many messages were dropped so the GUI can tell the user.
The newest turn alone not fitting is an error with the numbers in it, never a silent cut.

The prompt's token count is not additive over messages (templates add headers, merge
system prompts, tokens merge across boundaries), so candidates are really rendered and
counted; the cut point is found by galloping back from the newest turn and bisecting:
O(log kept turns) renders, none much larger than what fits, for a chat of any length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

Message = dict[str, Any]
RenderFn = Callable[[str, list[Message]], str]  # (system prompt, messages) -> prompt text
CountFn = Callable[[str], int]  # prompt text -> tokens


REPLY_SHARE = 2  # a reply may use at most 1/REPLY_SHARE of the context: the rest is the chat


def max_reply_tokens(n_ctx: int) -> int:
    """The longest reply a context of ``n_ctx`` tokens allows (half of it): max tokens set
    higher would leave no room for the conversation itself."""
    return max(1, n_ctx // REPLY_SHARE)


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


def _overflow(measure: _Measure, last_start: int, budget: int, n_ctx: int, reply: int) -> NoReturn:
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
    starts = turn_starts(messages) or [0]
    if _probably_fits(messages, budget) and measure(starts[0])[1] <= budget:
        start = starts[0]  # the common case: everything fits, one render
    else:
        found = _oldest_fitting_start(measure, starts, budget)
        if found is None:
            _overflow(measure, starts[-1], budget, n_ctx, reply_budget)
        start = found
    text, tokens = measure(start)
    return FitResult(messages[start:], start, tokens, text, budget)


def _probably_fits(messages: list[Message], budget: int) -> bool:
    """Cheap pre-check: a conversation with over 8 characters per available token will
    not fit, so it is not worth rendering and tokenizing whole (2,000 messages...)."""
    size = 0
    for message in messages:
        content = message.get("content")
        size += len(content) if isinstance(content, str) else 0
    return size <= 8 * budget


def _oldest_fitting_start(measure: _Measure, starts: list[int], budget: int) -> int | None:
    """The oldest turn start whose suffix fits, or None when even the newest turn does not.

    Galloping from the newest turn (1, 2, 4, 8... turns) then bisecting, so the renders
    are O(log kept turns) and never much larger than what fits, however long the chat.
    Assumes dropping turns never makes the prompt longer, which holds for chat templates.
    """

    def fits(kept_turns: int) -> bool:
        return measure(starts[len(starts) - kept_turns])[1] <= budget

    if not fits(1):
        return None
    good, bad = 1, None  # most turns known to fit, fewest known not to
    while bad is None and good < len(starts):
        trial = min(good * 2, len(starts))
        if fits(trial):
            good = trial
        else:
            bad = trial
    while bad is not None and bad - good > 1:
        middle = (good + bad) // 2
        good, bad = (middle, bad) if fits(middle) else (good, middle)
    return starts[len(starts) - good]
