"""One rule, one source: the conversation-id rule every command shares, and the sampling
defaults the window, the command line and the API server all start from."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatdesk.api.schemas import ChatCompletionRequest
from chatdesk.cli.main import main
from chatdesk.engine.types import SamplingSettings
from chatdesk.services.app_services import AppServices
from chatdesk.services.conversations import ConversationIdError, ConversationsService
from chatdesk.store import Conversation, Store

SHORT = "abc"  # a full id that is also the start of another one
LONG = "abcdef"


@pytest.fixture
def store(chatdesk_home: Path) -> Store:
    store = Store()
    for cid in (SHORT, LONG, "abx1", "abx2"):
        store.insert_conversation(Conversation(cid, f"chat {cid}", "2026-01-01", "2026-01-01"))
    return store


def test_the_id_rule(store: Store) -> None:
    conversations = ConversationsService(store)
    assert conversations.resolve_id(SHORT) == SHORT  # exact beats prefix
    assert conversations.resolve_id("abcd") == LONG
    with pytest.raises(ConversationIdError, match="ambiguous"):
        conversations.resolve_id("abx")
    with pytest.raises(ConversationIdError, match="no conversation with id 'zz'"):
        conversations.resolve_id("zz")
    with pytest.raises(ConversationIdError, match="empty"):
        conversations.resolve_id("")
    store.close()


def test_show_and_ask_read_ids_the_same_way(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    store.close()
    for given in ("abx", "zz"):
        assert main(["show", given]) == 1
        shown = capsys.readouterr().err
        assert main(["ask", "--conversation", given, "hello"]) == 1
        asked = capsys.readouterr().err
        assert shown == asked, given  # one rule, one message
    assert main(["show", SHORT]) == 0
    assert capsys.readouterr().out.startswith(f"chat {SHORT}\n")


def test_sampling_defaults_have_one_source(chatdesk_home: Path) -> None:
    engine = SamplingSettings()
    request = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}])
    api = request.sampling(engine.max_tokens or 1)
    services = AppServices.create(client_factory=lambda: None)  # type: ignore[arg-type,return-value]
    stored = services.turns.new_conversation().settings
    assert stored == {}  # a new chat stores only what the user chose; the rest follows
    window_and_cli = services.settings.effective_sampling(stored)  # what a turn then uses
    services.close()
    for name in ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens"):
        assert window_and_cli[name] == getattr(engine, name) == getattr(api, name), name
    assert window_and_cli["seed"] == -1  # random, as the engine's None
    assert engine.seed is None
