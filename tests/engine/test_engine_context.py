"""KV-cache reuse across turns and conversations, and fitting long chats into the context."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import RAM_ONLY_KEY
from chatdesk.engine.types import EngineError, ErrorCode, LoadOptions, ReplyStats, SamplingSettings
from tests.engine.conftest import loaded_engine
from tests.support.chat_requests import chat, numbered_turns

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)
SAMPLING = SamplingSettings(seed=3, max_tokens=24, ignore_eos=True)


def turn(
    engine: EngineClient, history: list[dict[str, str]], text: str, key: str | None
) -> ReplyStats:
    """Add a user message, get the reply, append it to ``history``; the reply's stats."""
    history.append({"role": "user", "content": text})
    stream = engine.generate(
        chat(history, system_prompt="You are helpful.", sampling=SAMPLING, conversation_key=key)
    )
    stats = stream.wait(timeout=60)
    history.append({"role": "assistant", "content": stream.text})
    return stats


def test_a_new_turn_evaluates_only_the_new_tokens(engine: EngineClient) -> None:
    history: list[dict[str, str]] = []
    first = turn(engine, history, "Tell me about the weather in Paris. " * 8, "turns")
    # all of it, but for the template's start an earlier test's conversation may share
    assert first.evaluated_prompt_tokens >= first.prompt_tokens - 4
    second = turn(engine, history, "And tomorrow?", "turns")
    new_message = [{"role": "user", "content": "And tomorrow?"}]
    new_part = engine.render(chat(new_message)).result(timeout=30).tokens
    assert second.kv_source == "context"
    assert second.prompt_tokens > first.prompt_tokens + first.generated_tokens
    # Only the new user message, its template tokens and the tail of the last reply.
    assert second.evaluated_prompt_tokens <= new_part + 8
    assert second.evaluated_prompt_tokens < second.prompt_tokens // 4


def test_switching_back_restores_the_conversation_state(engine: EngineClient) -> None:
    a: list[dict[str, str]] = []
    b: list[dict[str, str]] = []
    turn(engine, a, "Conversation A talks about the sea and the stars. " * 10, "A")
    turn(engine, b, "Conversation B is about code and numbers like 42. " * 10, "B")
    back = turn(engine, a, "Go on about the sea.", "A")
    assert back.kv_source == "saved"
    assert back.evaluated_prompt_tokens < back.prompt_tokens // 4
    status = engine.status().result(timeout=30)
    assert status["saved_states"] >= 1
    assert status["conversation_key"] == "A"


def saved_after_a_pause(engine: EngineClient) -> bool:
    """Whether the host saved the current conversation's state within a few seconds of
    idle time (it does so half a second after a reply, once conversations switched)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if engine.status().result(timeout=30)["context_saved"]:
            return True
        time.sleep(0.2)
    return False


def switched_and_back(
    engine: EngineClient, a: list[dict[str, str]], b: list[dict[str, str]], topics: str
) -> None:
    """A turn in ``idle-X``, one in ``idle-Y`` and one back in X (``topics`` is "XY"): the
    host then keeps conversation states, and saves the current one in idle time."""
    x, y = topics
    turn(engine, a, f"Conversation {x} is about rivers and their deltas. " * 8, f"idle-{x}")
    turn(engine, b, f"Conversation {y} is about clocks and gears. " * 8, f"idle-{y}")
    turn(engine, a, "More about the Nile, please.", f"idle-{x}")


def test_idle_time_saves_the_conversation_and_a_later_turn_is_not_lost(
    engine: EngineClient,
) -> None:
    a: list[dict[str, str]] = []
    b: list[dict[str, str]] = []
    switched_and_back(engine, a, b, "AB")
    assert saved_after_a_pause(engine)  # A, saved while the user reads
    # A goes on at once (its idle save is now stale), then B, then back to A: the switch
    # must save A as it is now, with this long turn, not the copy from the pause.
    turn(engine, a, "And now the Danube, its cities and its bridges, in detail. " * 6, "idle-A")
    turn(engine, b, "Go on.", "idle-B")
    back = turn(engine, a, "Thanks.", "idle-A")
    new_part = engine.render(chat([{"role": "user", "content": "Thanks."}])).result(30).tokens
    assert back.kv_source == "saved"
    assert back.evaluated_prompt_tokens <= new_part + 8


def test_a_warm_as_the_reply_ends_still_leaves_the_idle_save_to_run(
    engine: EngineClient,
) -> None:
    a: list[dict[str, str]] = []
    switched_and_back(engine, a, [], "CD")
    warm = chat(a, system_prompt="You are helpful.", sampling=SAMPLING, conversation_key="idle-C")
    engine.warm(warm).result(timeout=30)  # the window's warm as the reply ends
    assert saved_after_a_pause(engine)  # then saved, once the host is quiet


def test_editing_history_reevaluates_from_the_change(engine: EngineClient) -> None:
    history: list[dict[str, str]] = []
    turn(engine, history, "First question about Paris. " * 6, "edit")
    edited = [{"role": "user", "content": "First question about Rome. " * 6}]
    stats = turn(engine, edited, "ok", "edit")
    assert stats.evaluated_prompt_tokens > stats.prompt_tokens // 2  # the prefix changed early


@pytest.fixture(scope="module")
def small_context(tiny_model_path: Path) -> Iterator[EngineClient]:
    yield from loaded_engine(tiny_model_path, 1, n_ctx=256)


def test_oldest_messages_are_dropped_to_fit_and_reported(small_context: EngineClient) -> None:
    history = numbered_turns(12)
    history.append({"role": "user", "content": "The newest question."})
    stream = small_context.generate(
        chat(history, system_prompt="Be brief.", sampling=SamplingSettings(seed=1, max_tokens=32))
    )
    stats = stream.wait(timeout=60)
    assert stream.fitted is not None
    assert stream.fitted.dropped_count > 0
    assert stream.fitted.kept + stream.fitted.dropped_count == len(history)
    assert stream.fitted.prompt_tokens + 32 <= 256
    assert stats.dropped_messages == stream.fitted.dropped_count


def test_a_chat_longer_than_the_context_is_not_read_again_every_turn(
    short_context: EngineClient,
) -> None:
    """Past the context the oldest turns go, but not one more each turn: that changed the
    prompt's start every turn and re-read the whole kept history (130 s a turn at 8k on
    the starter model). Most turns evaluate only their new message."""
    history = numbered_turns(40)
    replies = [turn(short_context, history, f"Question {index}?", "long") for index in range(16)]
    assert all(stats.prompt_tokens + SAMPLING.max_tokens <= 1024 for stats in replies)
    assert all(stats.dropped_messages > 0 for stats in replies)
    evaluated = [stats.evaluated_prompt_tokens for stats in replies]
    assert sum(count <= 24 for count in evaluated[1:]) >= 12, evaluated
    assert replies[-1].dropped_messages > replies[0].dropped_messages  # cuts still happen


def test_a_message_too_long_for_the_context_is_a_clear_error(small_context: EngineClient) -> None:
    huge = [{"role": "user", "content": "word " * 2000}]
    stream = small_context.generate(
        chat(huge, system_prompt="", sampling=SamplingSettings(max_tokens=16))
    )
    with pytest.raises(EngineError, match="token") as caught:
        stream.wait(timeout=60)
    assert caught.value.code == ErrorCode.MESSAGE_TOO_LONG
    assert "exceeds context window" not in str(caught.value)
    # The engine is fine afterwards.
    hello = [{"role": "user", "content": "hi"}]
    ok = small_context.generate(
        chat(hello, system_prompt="", sampling=SamplingSettings(max_tokens=4))
    )
    assert ok.wait(timeout=60).generated_tokens <= 4


def test_conversation_state_survives_a_host_restart(tiny_model_path: Path) -> None:
    a: list[dict[str, str]] = []
    b: list[dict[str, str]] = []
    client = EngineClient()
    try:
        client.load(LoadOptions(tiny_model_path, n_threads=1)).result(timeout=60)
        turn(client, a, "A long talk about the sea and the stars. " * 12, "restart-A")
        turn(client, b, "Something else entirely.", "restart-B")
    finally:
        client.close()  # the app quits
    client = EngineClient()
    try:
        client.load(LoadOptions(tiny_model_path, n_threads=1)).result(timeout=60)
        back = turn(client, a, "Go on.", "restart-A")
    finally:
        client.close()
    assert back.kv_source == "saved"
    assert back.evaluated_prompt_tokens < back.prompt_tokens // 4


def test_a_ram_only_conversation_is_restored_but_never_written_to_disk(
    tiny_model_path: Path,
) -> None:
    """The API server's conversations (keys starting with ``RAM_ONLY_KEY``) come back from
    RAM like any other, but leave nothing in the disk cache to outlive the host."""
    a: list[dict[str, str]] = []
    b: list[dict[str, str]] = []
    client = EngineClient()
    try:
        client.load(LoadOptions(tiny_model_path, n_threads=1)).result(timeout=60)
        turn(client, a, "A long talk about the sea and the stars. " * 12, f"{RAM_ONLY_KEY}a")
        turn(client, b, "Something else entirely.", f"{RAM_ONLY_KEY}b")
        back = turn(client, a, "Go on.", f"{RAM_ONLY_KEY}a")
        turn(client, b, "And then?", f"{RAM_ONLY_KEY}b")
        assert client.status().result(timeout=30)["disk_state_bytes"] == 0
    finally:
        client.close()
    assert back.kv_source == "saved"
    assert back.evaluated_prompt_tokens < back.prompt_tokens // 4
    client = EngineClient()
    try:
        client.load(LoadOptions(tiny_model_path, n_threads=1)).result(timeout=60)
        again = turn(client, a, "More.", f"{RAM_ONLY_KEY}a")
    finally:
        client.close()
    assert again.kv_source != "saved"  # nothing of it was on disk


def test_a_request_without_a_conversation_does_not_cost_the_conversation_its_history(
    engine: EngineClient,
) -> None:
    """A request without a conversation key (a text completion; before round eleven, every
    API request): between two turns of a window conversation, one must not make the next
    turn read the whole history again."""
    window: list[dict[str, str]] = []
    turn(engine, window, "The window talks about mountains and their glaciers. " * 10, "keyed")
    turn(engine, [], "An API client asks about something else entirely. " * 6, None)
    back = turn(engine, window, "Go on.", "keyed")
    assert back.kv_source == "saved"
    assert back.evaluated_prompt_tokens < back.prompt_tokens // 4
