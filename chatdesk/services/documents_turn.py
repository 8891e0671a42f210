"""Documents in a chat turn: the retrieval-to-prompt step and the passages kept with the reply.

Built for the turn service's hooks (``add_request_hook`` / ``add_event_hook``) and for any
caller that assembles a request itself:

- ``on_request(request)``: when the turn names collections (``request.extras["documents"]``,
  from ``chatdesk ask --docs NAME``) or the conversation has collections attached, the
  last user message of the engine's request (``request.chat``, replaced by a new value) is
  the numbered passages and the question (``chatdesk.docs.context``); the passages go into
  ``request.extras[PASSAGES_KEY]``. The stored user message stays as typed. A turn that
  carries passages already (the next step of a tool loop) gets the same passages again
  around its question, without a new retrieval, so every step sees what the first saw.
- ``on_event(turn, event)``: when the reply ends, its passages are saved with it
  (``Store.save_passages``, table ``message_passages``), so its ``[1]``, ``[2]`` can be
  shown, checked and exported later.
- ``reserve(request)`` (not blocking: a warm made before Send runs it too): a turn that
  will carry passages asks the context fit to keep their room free
  (``ChatRequest.reserved_tokens``: what any question's passages from those collections
  may take, ``chatdesk.docs.context.passage_tokens``), so a long chat's warm, made without
  them, cuts the history where Send will, whatever the passages' size. Documents that go in
  whole reserve what they added at the collections' last question, as the model counted.

The passages are sized in the loaded model's tokens (``count``: the engine's
``count_tokens``, through ``AppServices``), so dense text (code, numbers, Chinese) gets no
more of the context than English prose does.

Attached collections are rows of the store (``attached_collections``, deleted with their
conversation; migration ``0010_issue19_attached_collections`` moved the old app-settings
blob there).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from chatdesk.docs.context import DocumentContext, TokenCount, added_tokens, estimated_tokens
from chatdesk.docs.records import Passage
from chatdesk.engine.request import ChatRequest, TextPart
from chatdesk.engine.types import EngineError, ReplyDone, ReplyFailed
from chatdesk.services.documents import DocumentsError, DocumentService
from chatdesk.store import Store

DOCUMENTS_KEY = "documents"  # request.extras: collection names given for this turn
PASSAGES_KEY = "document_passages"  # request.extras: the numbered passages (dicts)
ERROR_KEY = "documents_error"  # request.extras: why the documents could not be used

log = logging.getLogger("chatdesk.documents")
DEFAULT_CONTEXT = 4096


class RequestLike(Protocol):
    """What the hook needs of a turn request."""

    conversation_id: str
    chat: ChatRequest
    extras: dict[str, Any]


class TurnLike(Protocol):
    """What the hook needs of a turn."""

    message_id: str

    @property
    def request(self) -> RequestLike:
        """The request the reply was generated for."""
        ...


def question_index(request: ChatRequest) -> int:
    """Where the turn's question is: the last user message that is not an example (-1)."""
    messages = request.messages
    users = [i for i, m in enumerate(messages) if m.role == "user" and not m.example]
    return users[-1] if users else -1


class DocumentTurns:
    """Adds document passages to turns and stores them with the replies."""

    def __init__(
        self,
        documents: Callable[[], DocumentService],
        store: Store,
        n_ctx: Callable[[], int | None] = lambda: None,
        count: TokenCount = estimated_tokens,
    ) -> None:
        self.documents = documents  # opened on first need: most turns use no documents
        self.store = store
        self.n_ctx = n_ctx
        self.count = count  # the loaded model's tokens of each text (the engine's count)
        self._whole: dict[tuple[tuple[str, ...], int], int] = {}  # documents that go in
        # whole: the tokens they added at their collections' last question, per context

    def forget_sizes(self) -> None:
        """Forget the documents' counted sizes (another model counts them otherwise)."""
        self._whole.clear()

    def _context(self) -> int:
        return self.n_ctx() or DEFAULT_CONTEXT

    def _count(self, texts: Sequence[str]) -> list[int]:
        """The model's tokens of each text, or an estimate where its engine cannot count."""
        try:
            return self.count(texts)
        except EngineError as error:
            log.warning("documents sized by an estimate: %s", error)
            return estimated_tokens(texts)

    def attached(self, conversation_id: str) -> list[str]:
        """The collections attached to a conversation."""
        return self.store.attached_collections(conversation_id)

    def attach(self, conversation_id: str, names: list[str]) -> None:
        """Attach exactly these collections to a conversation (empty: none)."""
        self.store.set_attached_collections(conversation_id, names)

    def reserve(self, request: RequestLike) -> None:
        """Keep the passages' room free in the fit, where the turn will carry passages."""
        names = self._names(request)
        if not names:
            return
        n_ctx = self._context()
        whole = self._whole.get((tuple(names), n_ctx))
        try:
            tokens = self.documents().passage_tokens(names, n_ctx, whole)
        except DocumentsError:  # the turn itself says what is wrong with the documents
            return
        request.chat = request.chat.replace(reserved_tokens=tokens)

    def _names(self, request: RequestLike) -> list[str]:
        """The turn's collections (or the attached ones) that exist."""
        names = request.extras.get(DOCUMENTS_KEY) or self.attached(request.conversation_id)
        if not names:
            return []
        known = self.documents().index.collection_names()
        return [name for name in names if name in known]

    def on_request(self, request: RequestLike) -> None:
        """Put the passages for the question into the request (no-op without collections)."""
        messages = request.chat.messages
        at = question_index(request.chat)
        carried = request.extras.get(PASSAGES_KEY)
        if at < 0:
            return
        if carried:  # a later step of the same turn: the passages it was given
            context = DocumentContext(tuple(Passage.from_dict(p) for p in carried), whole=False)
        elif at == len(messages) - 1:
            found = self._retrieve(request, messages[at].text)
            if found is None:
                return
            context = found
        else:
            return
        asked = messages[at]
        question = dataclasses.replace(asked, content=(TextPart(context.prompt(asked.text)),))
        request.chat = request.chat.replace(
            messages=(*messages[:at], question, *messages[at + 1 :])
        )
        request.extras[PASSAGES_KEY] = [p.to_dict() for p in context.passages]

    def _retrieve(self, request: RequestLike, question: str) -> DocumentContext | None:
        """The passages for ``question`` from the turn's (or attached) collections."""
        names = self._names(request)
        if not names:  # none, or attached collections removed since: no documents
            return None
        documents = self.documents()
        started = time.monotonic()
        n_ctx = self._context()
        try:
            context = documents.context_for(question, names, n_ctx, self._count)
        except DocumentsError as error:  # e.g. the embedding model is gone: answer without
            log.warning(
                "documents left out: conversation %s, collections %s: %s",
                request.conversation_id, ", ".join(names), error,
            )  # fmt: skip
            request.extras[ERROR_KEY] = str(error)
            return None
        key = (tuple(names), n_ctx)
        if context.whole:  # the same every question: what the next warm reserves
            self._whole[key] = added_tokens(context, question, self._count)
        else:
            self._whole.pop(key, None)
        took_ms = 1000 * (time.monotonic() - started)
        log.info(
            "documents: conversation %s, collections %s, %d passages (%s), %.0f ms",
            request.conversation_id, ", ".join(names), len(context.passages),
            "whole documents" if context.whole else "retrieved", took_ms,
        )  # fmt: skip
        return context if context.passages else None

    def on_event(self, turn: TurnLike, event: object) -> None:
        """Save the turn's passages with its reply when the reply ends."""
        passages = turn.request.extras.get(PASSAGES_KEY)
        if passages and isinstance(event, ReplyDone | ReplyFailed):  # the reply has ended
            self.store.save_passages(turn.message_id, passages)
