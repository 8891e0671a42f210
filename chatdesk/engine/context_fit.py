"""Fit a conversation into the model's context window before each reply.

The prompt must leave ``reply_budget`` tokens free in a context of ``n_ctx``. When the
whole conversation does not fit, the oldest turns are dropped whole (a turn is a user
message and the replies that follow it) while the system prompt and the newest turns
stay; the result says how many messages were dropped so the GUI can tell the user.
The newest turn alone not fitting is an error with the numbers in it, never a silent cut.

Few-shot examples (user/assistant pairs shown to the model before the conversation) are
messages marked ``"example": True`` at the start of the list: like the system prompt they
are pinned, never dropped, and they count against the same budget.

The prompt's token count is not additive over messages (templates add headers, merge
system prompts, tokens merge across boundaries), so candidates are really rendered and
counted; the cut point is found by galloping back from the newest turn and bisecting:
O(log kept turns) renders, none much larger than what fits, for a chat of any length.

Once a chat has outgrown the context, the cut does not move by one turn each turn. Every
engine keeps the last prompt's evaluated tokens and reuses only an unchanged prefix, so a
cut that moved each turn made most replies read the whole kept history again: 132-138 s
for the first token at an 8k context on the starter model, three turns in four. Cuts are made at
*anchors* instead: the turn starts where the conversation's running size (each message's
own tokens, from its first message on) first reaches a multiple of half the room left
after the system prompt and examples. Anchors depend only on the messages before them, so
a growing chat keeps them; the kept part starts at the oldest anchor that fits and stays
there, turn after turn, until it no longer fits, then about half the room is dropped at
once. That is llama.cpp's own context shift (keep the start, discard half), done by
evaluating the new prompt exactly rather than shifting cached keys. When no anchor fits
(a very long newest turn), the cut falls back to the oldest turn start that fits.

The window and ``chatdesk chat`` warm a conversation as its reply ends, before the next
message is known (``chatdesk.services.warming``), and Send then adds it. For both to cut
at the same place, the choice leaves a trailing user message (the question, or a warmed
draft) out of its sizes and keeps ``NEXT_MESSAGE_ROOM`` tokens free for it instead (at most
an eighth of the budget): a kept part qualifies when its history's size (each message's
tokens plus ``MESSAGE_OVERHEAD``, as for the anchors) leaves that room, and its real prompt,
question included, fits. Any question up to about that size then gets the cut its warm
read, so a cut's read happens while the user reads. (Without it, the warm kept the old cut
whenever the reply still fit and only the question did not, about one cut in ten.)
A request may reserve more (``reserved``): document passages, which join the question at
Send (``chatdesk.services.documents_turn``) but not its warm. The room then holds them too,
and the anchors lie half of what is left apart (a reserve of more than half the room would
otherwise leave no anchor roomy enough, and the cut would move every turn), so a chat with
documents cuts at the same place however many passages a question brings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

Message = dict[str, Any]
EXAMPLE_KEY = "example"  # marks a pinned few-shot example message
RenderFn = Callable[[str, list[Message]], str]  # (system prompt, messages) -> prompt text
CountFn = Callable[[str], int]  # prompt text -> tokens
SizeFn = Callable[[str], int]  # one message's text -> its tokens (exact or estimated)
ANCHOR_SHARE = 2  # anchors lie 1/ANCHOR_SHARE of the room apart: what one cut drops
MESSAGE_OVERHEAD = 6  # a template's tokens around one message (role header, end marker)
NEXT_MESSAGE_ROOM = 128  # tokens a cut leaves for the next message (see the docstring)


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
    pinned: int = 0  # leading example messages (always kept, counted in ``messages``)

    @property
    def dropped(self) -> bool:
        return self.dropped_count > 0


def example_messages(pairs: Sequence[dict[str, str]]) -> list[Message]:
    """Few-shot ``{"user": ..., "assistant": ...}`` pairs as pinned chat messages."""
    messages: list[Message] = []
    for pair in pairs:
        messages.append({"role": "user", "content": pair["user"], EXAMPLE_KEY: True})
        messages.append({"role": "assistant", "content": pair["assistant"], EXAMPLE_KEY: True})
    return messages


def pinned_count(messages: Sequence[Message]) -> int:
    """How many leading messages are pinned examples."""
    count = 0
    while count < len(messages) and messages[count].get(EXAMPLE_KEY) is True:
        count += 1
    return count


def turn_starts(messages: Sequence[Message]) -> list[int]:
    """Indexes where a turn begins: 0, and every user message after it."""
    starts = [0] if messages else []
    starts += [i for i, m in enumerate(messages) if i > 0 and m.get("role") == "user"]
    return starts


class _Measure:
    """Renders and counts candidates ``messages[start:]``, remembering each result."""

    def __init__(
        self,
        system_prompt: str,
        pinned: list[Message],
        messages: list[Message],
        render: RenderFn,
        count: CountFn,
    ) -> None:
        self.system_prompt = system_prompt
        self.pinned = pinned
        self.messages = messages
        self.render = render
        self.count = count
        self.results: dict[int, tuple[str, int]] = {}

    def __call__(self, start: int) -> tuple[str, int]:
        if start not in self.results:
            text = self.render(self.system_prompt, self.pinned + self.messages[start:])
            self.results[start] = (text, self.count(text))
        return self.results[start]


def _overflow(measure: _Measure, last_start: int, budget: int, n_ctx: int, reply: int) -> NoReturn:
    needed = measure(last_start)[1]
    newest = len(measure.messages) - last_start
    what = {0: "The system prompt", 1: "The system prompt and the newest message"}.get(
        newest, f"The system prompt and the newest turn ({newest} messages)"
    )
    if measure.pinned:
        what = what.replace("The system prompt", "The system prompt, the examples")
    raise ContextOverflowError(
        f"{what} need {needed:,} tokens, but only {budget:,} fit "
        f"(context {n_ctx:,} minus {reply:,} reserved for the reply). Shorten the message or "
        "system prompt, lower the reply length, or raise the context length.",
        needed=needed,
        available=budget,
    )


def reply_budget(max_tokens: int | None, n_ctx: int) -> int:
    """Tokens kept free for the reply: ``max_tokens``, at most half the context."""
    wanted = max_tokens if max_tokens and max_tokens > 0 else n_ctx // 4
    return max(1, min(wanted, max_reply_tokens(n_ctx)))


def fit_conversation(  # noqa: PLR0917 - the engines pass the first six positionally
    system_prompt: str,
    messages: list[Message],
    render: RenderFn,
    count_tokens: CountFn,
    n_ctx: int,
    reply_budget: int,
    size: SizeFn | None = None,
    reserved: int = 0,
) -> FitResult:
    """Keep the system prompt, the pinned examples, and the newest whole turns that fit,
    from an anchor when one fits (see the module's docstring). ``size`` counts one
    message's text for the anchors (default ``count_tokens``; a remote engine passes an
    estimate, since counting there is a request); ``reserved`` tokens are kept free for
    what joins the question later, besides the next message's room."""
    budget = n_ctx - reply_budget
    if budget <= 0:
        raise ContextOverflowError(
            f"A reply budget of {reply_budget:,} tokens leaves no room for the prompt in a "
            f"context of {n_ctx:,} tokens.",
            needed=reply_budget,
            available=n_ctx,
        )
    pinned = pinned_count(messages)
    rest = messages[pinned:]
    measure = _Measure(system_prompt, messages[:pinned], rest, render, count_tokens)
    starts = turn_starts(rest) or [0]
    room = _Room(measure, budget, size or count_tokens, reserved)
    whole = _probably_fits(messages, budget) and room.left_at(starts[0])
    if whole and measure(starts[0])[1] <= budget:
        start: int | None = starts[0]  # the common case: everything fits, one render
    else:
        start = _cut(measure, starts, budget, room)
    if start is None:
        _overflow(measure, starts[-1], budget, n_ctx, reply_budget)
    text, tokens = measure(start)
    return FitResult(messages[:pinned] + rest[start:], start, tokens, text, budget, pinned)


class _Room:
    """The room the system prompt and examples leave (by ``size``), and what the history
    takes of it from each start: the messages before a trailing user message (the question,
    or a warmed draft), whose own size is left to the real render."""

    def __init__(self, measure: _Measure, budget: int, size: SizeFn, reserved: int) -> None:
        self.total = budget - size(measure.system_prompt) - _sizes(measure.pinned, size)
        self.spare = next_message_room(budget) + reserved
        self.spacing = max(1, (self.total - reserved) // ANCHOR_SHARE)  # of the anchors
        messages = measure.messages
        self.sizes = _message_sizes(messages, size)  # each message's, for the anchors too
        trailing = bool(messages) and messages[-1].get("role") == "user"
        self._after = [0] * (len(messages) + 1)  # history sizes from each index on
        for index in range(len(messages) - 1 - trailing, -1, -1):
            self._after[index] = self._after[index + 1] + self.sizes[index]

    def left_at(self, start: int) -> bool:
        """Whether the history from ``start`` leaves the next message's room."""
        return self._after[start] + self.spare <= self.total


def _cut(measure: _Measure, starts: list[int], budget: int, room: _Room) -> int | None:
    """Where a chat too long for the context starts: the oldest anchor whose history leaves
    the next message's room and whose prompt fits, else the oldest turn start whose prompt
    fits (None: not even the newest turn)."""
    anchors = _anchors(room.sizes, starts, room.spacing)
    roomy = [anchor for anchor in anchors if room.left_at(anchor)]
    found = _oldest_fitting_start(measure, roomy, budget) if roomy else None
    return found if found is not None else _oldest_fitting_start(measure, starts, budget)


def next_message_room(budget: int) -> int:
    """Tokens the history leaves free for the next message (besides the reply's budget):
    ``NEXT_MESSAGE_ROOM``, at most an eighth of the ``budget``."""
    return min(NEXT_MESSAGE_ROOM, budget // 8)


def message_text(message: Message) -> str:
    """The text a message adds to a prompt, for sizing: its content and tool calls."""
    content = message.get("content")
    if not isinstance(content, str):
        content = json.dumps(content, default=str) if content else ""
    calls = message.get("tool_calls")
    return (content + json.dumps(calls, default=str)) if calls else content


def _message_sizes(messages: Sequence[Message], size: SizeFn) -> list[int]:
    return [size(message_text(message)) + MESSAGE_OVERHEAD for message in messages]


def _sizes(messages: Sequence[Message], size: SizeFn) -> int:
    return sum(_message_sizes(messages, size))


def anchor_starts(
    messages: Sequence[Message], starts: list[int], spacing: int, size: SizeFn
) -> list[int]:
    """The turn starts where the running size of ``messages`` first reaches each multiple
    of ``spacing`` (always the first start). Each depends only on the messages before it,
    so appending messages never moves one: a cut made at an anchor stays put."""
    return _anchors(_message_sizes(messages, size), starts, spacing)


def _anchors(sizes: Sequence[int], starts: list[int], spacing: int) -> list[int]:
    """``anchor_starts`` over the messages' sizes (``_message_sizes``)."""
    anchors: list[int] = []
    total, counted, mark = 0, 0, 0
    for start in starts:
        total += sum(sizes[counted:start])
        counted = start
        if total >= mark:
            anchors.append(start)
            mark = (total // spacing + 1) * spacing
    return anchors


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
