"""The conversation key the API server gives a request, since its clients name none: the
engine keeps each conversation's state under it (``chatdesk.api.schemas.conversation_key``)."""

from __future__ import annotations

from typing import Any

from chatdesk.api.schemas import ChatCompletionRequest
from chatdesk.engine.types import SamplingSettings


def key_of(*messages: dict[str, Any]) -> str | None:
    body = ChatCompletionRequest.model_validate({"model": "m", "messages": list(messages)})
    return body.chat_request(SamplingSettings()).conversation_key


def test_a_conversation_keeps_its_key_from_turn_to_turn_and_others_get_their_own() -> None:
    system = {"role": "system", "content": "You plan trips."}
    ask = {"role": "user", "content": "Plan three days in Lisbon."}
    first = key_of(system, ask)
    later = key_of(
        system, ask, {"role": "assistant", "content": "Day one: Alfama."},
        {"role": "user", "content": "And day two?"},
    )  # fmt: skip
    assert first is not None
    assert first.startswith("~api-")  # kept in RAM only
    assert later == first
    assert key_of(system, {"role": "user", "content": "Plan three days in Porto."}) != first
    assert key_of({"role": "system", "content": "You are terse."}, ask) != first
    assert key_of(ask) != first
