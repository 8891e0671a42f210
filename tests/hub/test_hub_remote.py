"""Search and file listing with the real huggingface_hub client against the test hub."""

from __future__ import annotations

import pytest
from conftest import HostedRepo, TestHub, gguf_bytes

from chatdesk.hub.errors import AccessDeniedError, OfflineError, RepoNotFoundError
from chatdesk.hub.remote import list_repo_models, search_models


def test_search_finds_gguf_repos_sorted_by_downloads(online_hub: TestHub) -> None:
    online_hub.add_repo(HostedRepo("a/Chat-GGUF", {}, downloads=10, likes=90))
    online_hub.add_repo(HostedRepo("b/chat-small-GGUF", {}, downloads=500, likes=1))
    online_hub.add_repo(HostedRepo("c/Other-GGUF", {}, downloads=9999))

    hits = search_models("chat", sort="downloads")

    assert [hit.repo_id for hit in hits] == ["b/chat-small-GGUF", "a/Chat-GGUF"]
    assert hits[0].downloads == 500
    query = online_hub.requests[-1][1]
    assert query == "/api/models"


def test_search_sorts_by_likes_and_recency(online_hub: TestHub) -> None:
    online_hub.add_repo(
        HostedRepo("a/x-GGUF", {}, likes=3, last_modified="2024-01-01T00:00:00.000Z")
    )
    online_hub.add_repo(
        HostedRepo("b/x-GGUF", {}, likes=7, last_modified="2023-01-01T00:00:00.000Z")
    )

    assert [h.repo_id for h in search_models("x", sort="likes")] == ["b/x-GGUF", "a/x-GGUF"]
    assert [h.repo_id for h in search_models("x", sort="last_modified")] == ["a/x-GGUF", "b/x-GGUF"]


def test_files_lists_only_gguf_with_quantisation_and_groups_shards(small_repo: HostedRepo) -> None:
    listing = list_repo_models(small_repo.repo_id)

    by_name = {model.name: model for model in listing.models}
    assert set(by_name) == {"tiny-chat-Q4_K_M", "tiny-chat-Q8_0", "tiny-chat-F16"}
    split = by_name["tiny-chat-F16"]
    assert split.quantization == "F16"
    assert len(split.parts) == 3
    assert split.complete
    assert split.size == 190_000
    assert split.filename == "big/tiny-chat-F16-00001-of-00003.gguf"
    q4 = by_name["tiny-chat-Q4_K_M"]
    assert q4.quantization == "Q4_K_M"
    assert q4.parts[0].size == 300_000
    assert q4.parts[0].sha256 is not None
    assert len(q4.parts[0].sha256) == 64


def test_unsafe_file_names_from_the_hub_are_dropped(online_hub: TestHub) -> None:
    online_hub.add_repo(
        HostedRepo(
            "evil/Repo-GGUF",
            {
                "../../escape.gguf": gguf_bytes(10),
                ".hidden.gguf": gguf_bytes(10),
                "ok-Q4_0.gguf": gguf_bytes(10),
            },
        )
    )

    listing = list_repo_models("evil/Repo-GGUF")

    assert [model.filename for model in listing.models] == ["ok-Q4_0.gguf"]


def test_missing_repo_is_a_clear_not_found_error(online_hub: TestHub) -> None:
    with pytest.raises(RepoNotFoundError, match="not found on the hub"):
        list_repo_models("nobody/Nothing-GGUF")


def test_private_repo_without_login_is_an_access_error(online_hub: TestHub) -> None:
    online_hub.add_repo(
        HostedRepo("secret/Private-GGUF", {"a-Q4_0.gguf": gguf_bytes(10)}, private=True)
    )

    with pytest.raises(AccessDeniedError, match="login"):
        list_repo_models("secret/Private-GGUF")


def test_offline_mode_stops_every_hub_action_before_any_request(test_hub: TestHub) -> None:
    # the autouse fixture sets HF_HUB_OFFLINE=1
    with pytest.raises(OfflineError, match="HF_HUB_OFFLINE"):
        search_models("chat")
    with pytest.raises(OfflineError):
        list_repo_models("test-org/Tiny-Chat-GGUF")
    assert test_hub.requests == []


def test_unreachable_hub_is_an_offline_error(
    online_hub: TestHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # discard port: refused

    # (search would give up too, after huggingface_hub's own ~20 s of retries)
    with pytest.raises(OfflineError, match="cannot be reached"):
        list_repo_models("test-org/Tiny-Chat-GGUF")


def test_an_unreachable_hub_is_said_at_once_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24, item 12: no internet used to cost about 17 s of retries, then
    "([Errno -2] Name or service not known)"."""
    import socket
    import time

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for attempt in (
        lambda: search_models("qwen", endpoint=closed),
        lambda: list_repo_models("Qwen/Qwen3-1.7B-GGUF", endpoint=closed),
        lambda: search_models("qwen", endpoint="https://no-such-hub.invalid"),
    ):
        started = time.monotonic()
        with pytest.raises(OfflineError) as raised:
            attempt()
        assert time.monotonic() - started < 5
        message = str(raised.value)
        assert message.startswith("The Hugging Face hub cannot be reached")
        assert "Local models and the starter model still work" in message
