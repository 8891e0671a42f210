"""The conversation being read: its active branch, sibling branches, reply notes, its prompt.

Turns (send, regenerate, edit and resend, stop) live in ``chatdesk.services.turns``; this
service answers what the chat view shows about stored messages. Everything here reads or
writes the store on the caller's thread and returns at once (``render_prompt`` returns the
engine's future).

``branch`` copies the conversation up to one message into a new conversation (in one
transaction), so a line of thought can go on separately while the original stays as it was.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from chatdesk.docs.records import Passage
from chatdesk.engine.request import RenderedPrompt
from chatdesk.services.documents_turn import PASSAGES_KEY
from chatdesk.services.reply_summary import reply_summary
from chatdesk.services.turns import Turn, TurnService
from chatdesk.store import Conversation, Message, Store
from chatdesk.store.models import new_id


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

    def branch(self, message: Message) -> Conversation:
        """A new conversation ("<title> (branch)") holding the messages from the start up to
        ``message``, with the source's system prompt, settings and examples; the source is
        left as it was."""
        chain = [message]
        while chain[-1].parent_id is not None:
            chain.append(self.store.get_message(chain[-1].parent_id))
        source = self.store.get_conversation(message.conversation_id)
        with self.store.transaction():
            copy = self.store.create_conversation(
                f"{source.title} (branch)",
                source.model,
                source.system_prompt,
                source.settings,
                source.model_identity,
                examples=source.examples,
            )
            parent: str | None = None
            for original in reversed(chain):
                parent = self._copy_message(copy.id, parent, original)
            if parent is not None:  # the chain holds at least ``message``
                self.store.set_active_leaf(copy.id, parent)
        return self.store.get_conversation(copy.id)

    def _copy_message(self, cid: str, parent: str | None, m: Message) -> str:
        """The whole row (stats, metadata) inserted as import inserts rows, and its kept
        token probabilities, so the branch's Tokens view shows what the source's did."""
        copy = replace(m, id=new_id(), conversation_id=cid, parent_id=parent)
        self.store.insert_message(copy)
        kept = self.store.token_probabilities(m.id)
        if kept:
            self.store.save_token_probabilities(copy.id, kept)
        return copy.id

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

    def turn_options(self, path: list[Message], extras: dict[str, Any] | None) -> dict[str, Any]:
        """The turn options of the branch's last reply: ``extras``, and the passages that
        reply was given (so a tool step's prompt shows them as the step got them)."""
        given = self.store.passages(path[-1].id) if path and path[-1].role == "assistant" else []
        return {**(extras or {}), PASSAGES_KEY: given} if given else dict(extras or {})

    def summary(self, turn: Turn) -> dict[str, Any]:
        """Everything a finished turn's reply has, JSON-ready (``reply_summary``)."""
        return reply_summary(self.store, turn)

    def render_prompt(
        self, conversation_id: str, extras: dict[str, Any] | None = None
    ) -> Future[tuple[str, int]]:
        """Show prompt: the engine's rendering of ``TurnService.prompt_request`` for the
        active branch (the request its last reply is sent), Future of (text, tokens).

        ``extras`` are the options the front end sends its turns with (tools...). Building
        the request may retrieve documents (an embedding): a GUI calls this off its thread."""
        answer: Future[tuple[str, int]] = Future()
        try:
            path = self.messages(conversation_id)
            options = self.turn_options(path, extras)
            rendering = self.turns.engines.engine.render(
                self.turns.prompt_request(conversation_id, path, options)
            )
        except Exception as error:  # said in the viewer, like an engine's refusal
            answer.set_exception(error)
            return answer
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
