"""Structured output in the turn service over the real engine host and starter model.

The "Extract fields as JSON" preset (schema and two few-shot examples) on a conversation,
a reply that follows the schema, with token probabilities kept, and the verdict stored
with the reply; a schema that cannot be enforced refused before anything is sent; the
settings panel's save keeps the reply format.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from chatdesk.services.settings import CONTACT_SCHEMA
from chatdesk.services.structured import FormatError, verdict_of

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow


def test_the_extract_preset_gives_valid_json_with_constrained_probabilities(
    real_services: tuple[AppServices, EventQueue],
) -> None:
    app, events = real_services
    preset = app.settings.preset("Extract fields as JSON")
    assert preset.reply_format is not None
    assert len(preset.examples) == 2
    conversation = app.turns.new_conversation(settings=preset.settings)
    app.conversations.save_settings(conversation.id, preset.system_prompt, preset.settings)
    app.probabilities.set_examples(conversation.id, [dict(p) for p in preset.examples])
    app.structured.set_reply_format(conversation.id, preset.reply_format)
    app.conversations.save_settings(conversation.id, preset.system_prompt, preset.settings)
    assert app.structured.reply_format(conversation.id) is not None  # the panel's save kept it
    text = "Write to Ken Adams at ken@example.org, he works for Globex."
    turn = app.turns.send(conversation.id, text, {"logprobs": 3})
    assert events.run_until(lambda: turn.finished, timeout=600)
    reply = app.chat.message(turn.message_id)
    jsonschema.validate(json.loads(reply.content), CONTACT_SCHEMA)
    verdict = verdict_of(reply.extra)
    assert verdict is not None
    assert verdict["status"] == "valid"
    assert verdict["schema"] == CONTACT_SCHEMA
    choices = app.probabilities.choices(reply.id) or []
    assert choices, "token probabilities were kept"
    first = choices[0]  # the grammar allows only an object's "{" first
    assert first.sampled_top
    assert all(alt.text.startswith("{") for alt in first.sampled_top if alt.probability > 0)
    assert len(first.top) == 3  # the model's own (unconstrained) alternatives are kept too


def test_an_unenforceable_format_is_refused_before_sending(
    real_services: tuple[AppServices, EventQueue],
) -> None:
    app, _ = real_services
    conversation = app.turns.new_conversation()
    with pytest.raises(FormatError, match="'format'"):
        app.structured.set_reply_format(
            conversation.id, {"type": "json_schema", "schema": {"type": "string", "format": "uri"}}
        )
    with pytest.raises(FormatError, match="uniqueItems"):
        app.turns.send(conversation.id, "hi", {"response_format": {
            "type": "json_schema", "schema": {"type": "array", "uniqueItems": True}}})  # fmt: skip
    kept = app.chat.messages(conversation.id)  # the question is kept; no reply was started
    assert [(m.role, m.content) for m in kept] == [("user", "hi")]
