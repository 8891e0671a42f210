"""Token probabilities and few-shot examples in a chat turn, through the turn service's hooks.

``TokenProbabilityFeature.install(turns)`` adds two hooks to the ``TurnService``:

- a request hook: the conversation's few-shot examples go in front of the history as
  pinned example messages (so Show prompt and the context meter include them), and when
  token probabilities are on (the app setting ``KEEP_KEY``: how many alternatives, 0 off;
  or ``extras["logprobs"]`` for one turn, as ``chatdesk ask --logprobs N`` does) the
  sampling asks the engine for them;
- an event hook: the ``TokenChoice``s of the reply are collected as they arrive and stored
  with the reply when it ends (``Store.save_token_probabilities``); a continued reply adds
  to what was stored.

``branch_from`` turns "continue from this alternative instead" into the new branch's reply
prefix (the reply's tokens before the chosen position, then the alternative) and the
probabilities that go with that prefix; ``TokenProbabilityFeature.branch`` stores that
prefix as a new sibling reply and lets the turn service continue it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from chatdesk.engine.context_fit import example_messages
from chatdesk.engine.request import Message as ChatMessage
from chatdesk.engine.types import (
    MAX_LOGPROBS,
    Alternative,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    TokenChoice,
    TokenProbabilities,
)
from chatdesk.services.settings import checked_examples
from chatdesk.services.turns import ChatError, Turn, TurnRequest, TurnService
from chatdesk.store import Message, Store

KEEP_KEY = "probabilities.alternatives"  # app setting: alternatives kept per token, 0 = off
DEFAULT_ALTERNATIVES = 10


class ProbabilityCollector:
    """Collects a reply's token probabilities (called on the engine's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._choices: list[TokenChoice] = []

    def __call__(self, event: ReplyEvent) -> None:
        if isinstance(event, TokenProbabilities):
            with self._lock:
                self._choices.extend(event.tokens)

    @property
    def choices(self) -> list[TokenChoice]:
        """The tokens' probabilities so far, in order."""
        with self._lock:
            return list(self._choices)


@dataclass(frozen=True)
class Branch:
    """What a branch from an alternative starts with."""

    prefix: str  # the new reply's text so far (the model continues from it)
    choices: list[TokenChoice]  # the probabilities of the prefix's tokens


def branch_from(choices: list[TokenChoice], index: int, alternative: Alternative) -> Branch:
    """The branch that takes ``alternative`` instead of the token at ``index``."""
    if not 0 <= index < len(choices):
        raise ValueError(f"no token {index + 1} in this reply ({len(choices)} tokens)")
    original = choices[index]
    sampled = next((a for a in original.sampled_top if a.token == alternative.token), None)
    swapped = TokenChoice(
        token=alternative.token,
        text=alternative.text,
        probability=alternative.probability,
        sampled_probability=sampled.probability if sampled else 0.0,
        top=original.top,
        sampled_top=original.sampled_top,
    )
    kept = [*choices[:index], swapped]
    prefix = "".join(choice.text for choice in kept).lstrip()  # replies start without blanks
    return Branch(prefix, kept)


def alternatives_count(value: Any) -> int:
    """A requested number of alternatives, clamped to 0..MAX_LOGPROBS (junk reads as 0)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(0, min(value, MAX_LOGPROBS))


class TokenProbabilityFeature:
    """Examples into requests; token probabilities asked for, collected and stored."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._collected: dict[str, list[TokenChoice]] = {}

    def install(self, turns: TurnService) -> None:
        """Hook into every turn of ``turns``."""
        turns.add_request_hook(self.prepare)
        turns.add_event_hook(self.on_event)

    # -- settings -------------------------------------------------------------------------
    def alternatives(self) -> int:
        """How many alternatives new replies keep (0: token probabilities are off)."""
        return alternatives_count(self.store.get_setting(KEEP_KEY, 0))

    def set_alternatives(self, count: int) -> None:
        """Keep token probabilities (``count`` alternatives per token) for new replies, or
        stop (0)."""
        self.store.set_setting(KEEP_KEY, alternatives_count(count))

    def choices(self, message_id: str) -> list[TokenChoice] | None:
        """A reply's stored token probabilities (None when none were kept)."""
        return self.store.token_probabilities(message_id)

    def examples(self, conversation_id: str) -> list[dict[str, str]]:
        """A conversation's few-shot examples."""
        return self.store.get_conversation(conversation_id).examples

    def set_examples(self, conversation_id: str, pairs: list[dict[str, str]]) -> None:
        """Replace a conversation's few-shot examples (``SettingsError`` if malformed)."""
        clean = list(checked_examples(pairs))
        self.store.update_conversation(conversation_id, examples=clean)

    # -- hooks ----------------------------------------------------------------------------
    def prepare(self, request: TurnRequest) -> None:
        """Request hook: pinned examples first; ask for probabilities when they are on."""
        chat = request.chat
        examples = self.store.get_conversation(request.conversation_id).examples
        if examples and not chat.examples:
            pinned = tuple(ChatMessage.from_chat(m) for m in example_messages(examples))
            chat = chat.replace(messages=(*pinned, *chat.messages))
        count = alternatives_count(request.extras.get("logprobs", self.alternatives()))
        if count:
            chat = chat.replace(logprobs=count, sampling=replace(chat.sampling, logprobs=count))
            request.settings["logprobs"] = count  # kept with the reply: it has probabilities
        request.chat = chat

    def on_event(self, turn: Turn, event: ReplyEvent) -> None:
        """Event hook: collect the reply's probabilities; store them when it ends."""
        if isinstance(event, TokenProbabilities):
            kept = self._collected.get(turn.message_id)
            if kept is None:
                kept = self._collected[turn.message_id] = self._stored(turn.message_id)
            kept.extend(event.tokens)
        elif isinstance(event, ReplyDone | ReplyFailed):
            kept = self._collected.pop(turn.message_id, None)
            if kept:
                self.store.save_token_probabilities(turn.message_id, kept)

    def _stored(self, message_id: str) -> list[TokenChoice]:
        return list(self.store.token_probabilities(message_id) or [])

    # -- branching ------------------------------------------------------------------------
    def branch(
        self, turns: TurnService, reply: Message, index: int, alternative: Alternative
    ) -> Turn:
        """A new sibling of ``reply`` that takes ``alternative`` at token ``index`` and
        goes on from there (the engine continues the new reply's prefix)."""
        choices = self.store.token_probabilities(reply.id)
        if reply.role != "assistant" or reply.parent_id is None or not choices:
            raise ChatError("this reply has no token probabilities to branch from")
        if turns.streaming:
            raise ChatError("a reply is still being written; stop it first")
        start = branch_from(choices, index, alternative)
        sibling = turns.replies.open(
            reply.conversation_id, reply.parent_id, model=reply.model, settings=reply.settings,
            text=start.prefix, status="interrupted",
        )  # fmt: skip
        self.store.save_token_probabilities(sibling.id, start.choices)
        return turns.continue_reply(sibling)
