"""Each service says what it did in the log, at INFO, with conversation, model, engine and
timing: a reply from start to end, a failed one (WARNING), a tool run, a deletion."""

from __future__ import annotations

import logging
import re

import pytest

from chatdesk.engine.types import EngineError
from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from chatdesk.services.turns import Turn
from chatdesk.tools.calls import ToolCall
from tests.support.scripted_engine import ScriptedEngine


def finish(events: EventQueue, turn: Turn) -> None:
    assert events.run_until(lambda: turn.finished, timeout=10)


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == logger]


def test_a_reply_is_logged_with_conversation_model_engine_and_timing(
    services: AppServices, events: EventQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chatdesk")
    conversation = services.turns.new_conversation()
    finish(events, services.turns.send(conversation.id, "What is a list?"))
    (start_level, started), (end_level, ended) = lines(caplog, "chatdesk.turns")
    assert start_level == end_level == logging.INFO
    where = f"conversation {conversation.id}, model scripted-model, engine local"
    assert started == f"reply started: {where}"
    assert ended.startswith(f"reply complete: {where}, ")
    assert re.search(r", \d+\.\d\d s, \d+ prompt \+ 40 generated tokens, first token ", ended)
    assert ended.endswith("finish length")  # the scripted engine stops at its token limit
    assert "What is a list?" not in started + ended  # the text never goes to the log


def test_a_failed_reply_is_a_warning_with_the_reason(
    services: AppServices,
    events: EventQueue,
    scripted_engine: ScriptedEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="chatdesk")
    scripted_engine.failure = EngineError("the model ran out of memory")
    conversation = services.turns.new_conversation()
    finish(events, services.turns.send(conversation.id, "hello"))
    level, text = lines(caplog, "chatdesk.turns")[-1]
    assert level == logging.WARNING
    assert text.startswith(f"reply error: conversation {conversation.id}, model scripted-model")
    assert text.endswith("the model ran out of memory")


def test_tool_runs_and_deletions_are_logged(
    services: AppServices, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chatdesk")
    conversation = services.turns.new_conversation()
    services.tools.run(
        ToolCall("calculator", {"expression": "6*7"}),
        conversation_id=conversation.id,
        approved_by="test",
    )
    services.conversations.delete(conversation.id)
    [(_, tool)] = lines(caplog, "chatdesk.tools")
    assert re.fullmatch(
        rf"tool calculator \(built-in\): conversation {conversation.id}, test, ok, \d+ ms", tool
    )
    assert lines(caplog, "chatdesk.conversations") == [
        (logging.INFO, f"deleted conversation {conversation.id}")
    ]
