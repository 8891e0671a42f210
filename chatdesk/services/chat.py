"""The conversation being read: its active branch, sibling branches, reply notes, its prompt.

Turns (send, regenerate, edit and resend, stop) live in ``chatdesk.services.turns``; this
service answers what the chat view shows about stored messages. Everything here reads or
writes the store on the caller's thread and returns at once (``render_prompt`` returns the
engine's future).
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

from chatdesk.docs.records import Passage
from chatdesk.engine.request import RenderedPrompt
from chatdesk.engine.types import EngineError
from chatdesk.services.tool_turns import ALL_TOOLS
from chatdesk.services.turns import TurnService, engine_request
from chatdesk.store import Message, Store


@dataclass(frozen=True)
class ContextNote:
    """How the prompt of a reply fitted the context (shown under the reply)."""

    prompt_tokens: int | None
    n_ctx: int | None
    dropped: int


class ChatService:
    """What the chat view asks about the open conversation."""

    def __init__(self, store: Store, turns: TurnService) -> None:
        self.store = store
        self.turns = turns

    def message(self, message_id: str) -> Message:
        """One stored message."""
        return self.store.get_message(message_id)

    def messages(self, conversation_id: str) -> list[Message]:
        """The active branch, oldest first."""
        return self.store.active_path(conversation_id)

    def sibling_position(self, message: Message) -> tuple[int, int]:
        """(1-based index, count) of a message among its siblings."""
        ids = [m.id for m in self.store.siblings(message.id)]
        return (ids.index(message.id) + 1 if message.id in ids else 1, max(len(ids), 1))

    def switch_sibling(self, message: Message, step: int) -> bool:
        """Show the previous (-1) or next (+1) sibling branch; False at either end."""
        ids = [m.id for m in self.store.siblings(message.id)]
        target = ids.index(message.id) + step
        if not 0 <= target < len(ids) or self.turns.streaming:
            return False
        self.store.set_active_leaf(message.conversation_id, ids[target])
        return True

    def context_note(self, message: Message) -> ContextNote | None:
        """How that reply's prompt fitted the context, when known (from the reply's row)."""
        if not message.n_ctx:
            return None
        return ContextNote(message.prompt_tokens, message.n_ctx, message.dropped_messages or 0)

    def passages(self, message: Message) -> list[Passage]:
        """The document passages a reply was given (empty for most replies)."""
        if message.role != "assistant":
            return []
        return [Passage.from_dict(p) for p in self.store.passages(message.id)]

    def render_prompt(self, conversation_id: str) -> Future[tuple[str, int]]:
        """The exact prompt for the conversation's active branch: Future of (text, tokens)."""
        request = self.turns.request_for(conversation_id, self.messages(conversation_id))
        steps = self.turns.tool_steps
        if steps is not None and steps.tools.offered_in_chat():  # as the next turn will be
            request.extras["tools"] = ALL_TOOLS
            steps.prepare(request)
        try:
            rendering = self.turns.engines.engine.render(
                engine_request(request, request.extras.get("tool_schemas"))
            )
        except EngineError as error:
            rendering = Future[RenderedPrompt]()
            rendering.set_exception(error)
        answer: Future[tuple[str, int]] = Future()
        rendering.add_done_callback(lambda done: _as_text_and_tokens(done, answer))
        return answer


def _as_text_and_tokens(done: Future[RenderedPrompt], answer: Future[tuple[str, int]]) -> None:
    """Complete ``answer`` with the rendered prompt's text and token count (or its error)."""
    error = done.exception()
    if error is not None:
        answer.set_exception(error)
    else:
        rendered = done.result()
        answer.set_result((rendered.text, rendered.tokens))
