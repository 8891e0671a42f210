"""The retrieval-to-prompt step of a chat turn and the passages stored with the reply."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import (
    EngineError,
    ErrorCode,
    LoadOptions,
    ReplyDone,
    ReplyStats,
    SamplingSettings,
)
from chatdesk.services.documents import DocumentService
from chatdesk.services.documents_turn import PASSAGES_KEY, DocumentTurns
from chatdesk.store import Store


@dataclass
class Request:
    """The fields of the turn service's TurnRequest that the hook uses."""

    conversation_id: str
    chat: ChatRequest
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, cid: str, *texts: str, **extras: Any) -> Request:
        roles = ["user", "assistant"] * len(texts)
        messages = [{"role": r, "content": t} for r, t in zip(roles, texts, strict=False)]
        return cls(cid, ChatRequest.of(messages), dict(extras))

    def texts(self) -> list[str]:
        return [m.text for m in self.chat.messages]


@dataclass
class Turn:
    request: Request
    message_id: str


def make_turns(service: DocumentService, chatdesk_home: Path) -> tuple[DocumentTurns, Store]:
    store = Store(chatdesk_home / "chatdesk.db")
    return DocumentTurns(lambda: service, store, lambda: 2048), store


def test_attached_collections_feed_the_prompt_and_the_reply_keeps_its_passages(
    service: DocumentService, library: Path, chatdesk_home: Path
) -> None:
    service.add([library], "lib")
    service.index_collection("lib")
    turns, store = make_turns(service, chatdesk_home)
    with store:
        cid = store.create_conversation("Trains").id
        question = store.append_message(cid, "user", "How long is the Velta tunnel?")
        turns.attach(cid, ["lib"])
        request = Request.of(cid, question.content)
        turns.on_request(request)
        assert "How long is the Velta tunnel?" in request.texts()[-1]
        assert "14.2 kilometres" in request.texts()[-1]
        passages = request.extras[PASSAGES_KEY]
        assert passages[0]["number"] == 1
        reply = store.append_message(cid, "assistant", "14.2 km [1]", parent_id=question.id)
        turns.on_event(Turn(request, reply.id), ReplyDone(ReplyStats(finish_reason="stop")))
        assert store.passages(reply.id) == passages
        assert store.get_message(question.id).content == "How long is the Velta tunnel?"
        service.remove("lib")  # removed while attached: the next turn goes on without it
        gone = Request.of(cid, "Hi")
        turns.on_request(gone)
        assert gone.texts() == ["Hi"]
        turns.attach(cid, [])
        plain = Request.of(cid, "Hi")
        turns.on_request(plain)
        assert plain.texts() == ["Hi"]
        assert PASSAGES_KEY not in plain.extras


def test_a_later_step_of_the_turn_gets_the_same_passages_without_a_new_retrieval(
    service: DocumentService, library: Path, chatdesk_home: Path
) -> None:
    service.add([library], "lib")
    service.index_collection("lib")
    turns, store = make_turns(service, chatdesk_home)
    with store:
        first = Request.of("c1", "How long is the Velta tunnel?", documents=["lib"])
        turns.on_request(first)
        passages = first.extras[PASSAGES_KEY]
        service.remove("lib")  # a retrieval now would find nothing
        call = {"id": "c1", "type": "function", "function": {"name": "calculator"}}
        history = [{"role": "user", "content": "How long is the Velta tunnel?"},
                   {"role": "assistant", "content": "", "tool_calls": [call]},
                   {"role": "tool", "tool_call_id": "c1", "content": "14.2"}]  # fmt: skip
        step = Request("c1", ChatRequest.of(history), dict(first.extras))
        turns.on_request(step)
        assert step.texts()[0] == first.texts()[0]  # the question with the same passages
        assert "14.2 kilometres" in step.texts()[0]
        assert step.texts()[1:] == ["", "14.2"]
        assert step.extras[PASSAGES_KEY] == passages


def test_documents_that_go_in_whole_reserve_what_the_model_counted_at_the_last_question(
    service: DocumentService, library: Path, chatdesk_home: Path
) -> None:
    """A warm before the question reserves the passages' room. For documents that go in
    whole that is what they added at the last question, as the model counts them; before
    any question, an estimate. Another model (``forget_sizes``) counts again."""
    service.add([library], "lib")
    service.index_collection("lib")
    store = Store(chatdesk_home / "chatdesk.db")
    turns = DocumentTurns(lambda: service, store, lambda: 4096, lambda ts: [len(t) for t in ts])

    def reserved() -> int:
        request = Request.of(cid, "Next?")
        turns.reserve(request)
        return request.chat.reserved_tokens

    with store:
        cid = store.create_conversation("Trains").id
        turns.attach(cid, ["lib"])
        estimated = reserved()
        asked = Request.of(cid, "How long is the Velta tunnel?")
        turns.on_request(asked)
        assert PASSAGES_KEY in asked.extras
        added = len(asked.texts()[-1]) - len("How long is the Velta tunnel?")
        assert reserved() == added  # one token a character: what the passages added
        assert estimated < added  # 3.5 characters a token fell short for this tokenizer
        turns.forget_sizes()
        assert reserved() == estimated


def test_an_engine_that_cannot_count_leaves_the_passages_sized_by_an_estimate(
    service: DocumentService, library: Path, chatdesk_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def cannot_count(texts: Sequence[str]) -> list[int]:
        raise EngineError("the engine host stopped", ErrorCode.HOST_DIED)

    service.add([library], "lib")
    service.index_collection("lib")
    store = Store(chatdesk_home / "chatdesk.db")
    turns = DocumentTurns(lambda: service, store, lambda: 4096, cannot_count)
    with store:
        asked = Request.of("c1", "How long is the Velta tunnel?", documents=["lib"])
        turns.on_request(asked)
    assert "14.2 kilometres" in asked.texts()[-1]
    assert "documents sized by an estimate: the engine host stopped" in caplog.text


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python")
def test_the_real_model_answers_from_a_passage(
    service: DocumentService, tmp_path: Path, chatdesk_home: Path, starter_model_path: Path
) -> None:
    (tmp_path / "atlas.md").write_text("# Atlas\n\nThe capital of Freedonia is Zubrowka.\n")
    service.add([tmp_path], "atlas")
    service.index_collection("atlas")
    turns, store = make_turns(service, chatdesk_home)
    request = Request.of("c1", "What is the capital of Freedonia?", documents=["atlas"])
    turns.on_request(request)
    store.close()
    with EngineClient() as client:
        client.load(LoadOptions(starter_model_path, n_ctx=2048, n_threads=1)).result(timeout=120)
        sampling = SamplingSettings(temperature=0, seed=1, max_tokens=40)
        reply = client.generate(request.chat.replace(sampling=sampling))
        reply.wait(timeout=120)
    assert "Zubrowka" in reply.text
