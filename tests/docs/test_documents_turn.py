"""The retrieval-to-prompt step of a chat turn and the passages stored with the reply."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions, ReplyDone, ReplyStats, SamplingSettings
from chatdesk.services.documents import DocumentService
from chatdesk.services.documents_turn import PASSAGES_KEY, DocumentTurns
from chatdesk.store import Store
from tests.support.chat_requests import chat


@dataclass
class Request:
    """The fields of the turn service's TurnRequest that the hook uses."""

    conversation_id: str
    messages: list[dict[str, Any]]
    extras: dict[str, Any] = field(default_factory=dict)


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
        request = Request(cid, [{"role": "user", "content": question.content}])
        turns.on_request(request)
        assert "How long is the Velta tunnel?" in request.messages[-1]["content"]
        assert "14.2 kilometres" in request.messages[-1]["content"]
        passages = request.extras[PASSAGES_KEY]
        assert passages[0]["number"] == 1
        reply = store.append_message(cid, "assistant", "14.2 km [1]", parent_id=question.id)
        turns.on_event(Turn(request, reply.id), ReplyDone(ReplyStats(finish_reason="stop")))
        assert store.passages(reply.id) == passages
        assert store.get_message(question.id).content == "How long is the Velta tunnel?"
        service.remove("lib")  # removed while attached: the next turn goes on without it
        gone = Request(cid, [{"role": "user", "content": "Hi"}])
        turns.on_request(gone)
        assert gone.messages == [{"role": "user", "content": "Hi"}]
        turns.attach(cid, [])
        plain = Request(cid, [{"role": "user", "content": "Hi"}])
        turns.on_request(plain)
        assert plain.messages == [{"role": "user", "content": "Hi"}]
        assert PASSAGES_KEY not in plain.extras


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python")
def test_the_real_model_answers_from_a_passage(
    service: DocumentService, tmp_path: Path, chatdesk_home: Path, starter_model_path: Path
) -> None:
    (tmp_path / "atlas.md").write_text("# Atlas\n\nThe capital of Freedonia is Zubrowka.\n")
    service.add([tmp_path], "atlas")
    service.index_collection("atlas")
    turns, store = make_turns(service, chatdesk_home)
    request = Request(
        "c1",
        [{"role": "user", "content": "What is the capital of Freedonia?"}],
        {"documents": ["atlas"]},
    )
    turns.on_request(request)
    store.close()
    with EngineClient() as client:
        client.load(LoadOptions(starter_model_path, n_ctx=2048, n_threads=1)).result(timeout=120)
        reply = client.generate(
            chat(
                request.messages,
                system_prompt="",
                sampling=SamplingSettings(temperature=0, seed=1, max_tokens=40),
            )
        )
        reply.wait(timeout=120)
    assert "Zubrowka" in reply.text
