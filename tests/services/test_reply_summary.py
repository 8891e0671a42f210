"""The whole reply as one object (``ChatService.summary``, what ``ask --json`` prints)."""

from __future__ import annotations

from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from chatdesk.services.reply_summary import split_reasoning
from chatdesk.services.turns import Turn
from tests.cli.test_ask_json import KEYS
from tests.support.scripted_engine import ScriptedEngine

CALC = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "6*7"}}\n</tool_call>'


class LastTurn:
    """Remembers the turn that finished last (a tool turn ends with its last step)."""

    turn: Turn | None = None

    def turn_started(self, turn: Turn) -> None: ...
    def turn_text(self, turn: Turn, delta: str) -> None: ...
    def turn_finished(self, turn: Turn) -> None:
        self.turn = turn


def test_the_summary_has_every_tool_call_with_its_result_and_the_reasoning_apart(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.replies = ["Let me compute. " + CALC, "<think>6 times 7.</think>It is 42."]
    services.tool_turns.approved_by = "test"
    last = LastTurn()
    services.turns.add_listener(last)
    cid = services.turns.new_conversation().id
    services.turns.send(cid, "What is 6*7?", {"tools": ["calculator"]})
    assert events.run_until(lambda: not services.turns.streaming, timeout=30)
    assert last.turn is not None
    summary = services.chat.summary(last.turn)
    assert set(summary) == KEYS
    assert (summary["text"], summary["reasoning"]) == ("It is 42.", "6 times 7.")
    [call] = summary["tool_calls"]
    assert (call["name"], call["arguments"], call["result"]) == (
        "calculator", {"expression": "6*7"}, "42")  # fmt: skip
    assert summary["tools_offered"] == ["calculator"]
    assert (summary["sources"], summary["tokens"], summary["response_format"]) == ([], None, None)


def test_reasoning_is_only_a_leading_think_block() -> None:
    assert split_reasoning("<think> a </think>\n\nB") == ("a", "B")
    assert split_reasoning("B <think>a</think>") == ("", "B <think>a</think>")
    assert split_reasoning("<think>never closed") == ("", "<think>never closed")
