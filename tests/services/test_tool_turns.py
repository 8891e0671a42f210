"""Tool steps inside the turn service: the scripted engine writes calls as a Qwen model
does; the real tools service runs them (real calculator, real sandbox, real audit log)."""

from __future__ import annotations

import json
import threading
import time

from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from chatdesk.services.tool_turns import ALL_TOOLS, tool_state
from chatdesk.services.tools import Approval, ApprovalRequest
from chatdesk.tools import sandbox
from tests.support.scripted_engine import ScriptedEngine

CALC = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2**64"}}\n</tool_call>'


def run_turn(services: AppServices, events: EventQueue, text: str, tools: object = "all") -> str:
    cid = services.turns.new_conversation().id
    services.turns.send(cid, text, extras={"tools": tools})
    assert events.run_until(lambda: not services.turns.streaming, timeout=30)
    return cid


def test_a_call_its_result_and_the_answer_are_rows_of_the_tree(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.replies = ["Let me compute.\n" + CALC, "It is 18446744073709551616."]
    services.tool_turns.approved_by = "test"
    shown: list[str] = []

    class Screen:
        def turn_started(self, turn: object) -> None: ...
        def turn_text(self, turn: object, delta: str) -> None:
            shown.append(delta)

        def turn_finished(self, turn: object) -> None: ...

    services.turns.add_listener(Screen())
    cid = run_turn(services, events, "What is 2**64?")
    path = services.store.active_path(cid)
    assert [(m.role, m.status) for m in path] == [
        ("user", "complete"), ("assistant", "complete"), ("tool", "complete"),
        ("assistant", "complete")]  # fmt: skip
    call = path[1].tool_calls[0]  # type: ignore[index]
    assert path[1].content == "Let me compute."
    assert call["function"] == {"name": "calculator", "arguments": {"expression": "2**64"}}
    assert (path[2].content, path[2].tool_call_id) == ("18446744073709551616", call["id"])
    assert path[3].content == "It is 18446744073709551616."
    assert "<tool_call>" not in "".join(shown)
    second = scripted_engine.requests[1]
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "tool"]
    assert second["messages"][2]["name"] == "calculator"
    assert {t["function"]["name"] for t in second["tools"]} >= {"calculator", "python"}


def test_next_turn_resends_calls_and_results(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.replies = [CALC, "Done.", "Half is 9223372036854775808."]
    services.tool_turns.approved_by = "test"
    cid = run_turn(services, events, "What is 2**64?")
    services.turns.send(cid, "And half?")
    assert events.run_until(lambda: not services.turns.streaming, timeout=30)
    roles = [m["role"] for m in scripted_engine.requests[-1]["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]
    assert scripted_engine.requests[-1]["tools"] is None  # this turn did not ask for tools


def test_approval_is_asked_from_a_worker_and_deny_reaches_the_model(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.replies = [CALC, "I may not calculate."]
    asked: list[tuple[str, bool]] = []

    def approve(request: ApprovalRequest) -> Approval:
        asked.append((request.tool, threading.current_thread() is threading.main_thread()))
        return Approval.DENY

    services.tool_turns.approve = approve
    cid = run_turn(services, events, "What is 2**64?")
    assert asked == [("calculator", False)]
    path = services.store.active_path(cid)
    assert path[2].content == "Error: the user denied this tool call"
    assert services.store.tool_audit()[0].approval == "denied"


def test_step_limit_ends_the_turn_with_a_note(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    services.tools.set_max_steps(2)
    scripted_engine.replies = [CALC, CALC, CALC]
    services.tool_turns.approved_by = "test"
    cid = run_turn(services, events, "Loop forever")
    path = services.store.active_path(cid)
    assert [m.role for m in path] == ["user", "assistant", "tool", "assistant", "tool"]
    assert path[-2].error == "stopped after 2 tool steps (the limit in Tools settings)"


def test_stop_while_tools_run_ends_the_turn_at_once(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    program = "import time; print('half done', flush=True); time.sleep(20)"
    code = json.dumps({"name": "python", "arguments": {"code": program}})
    scripted_engine.replies = [f"<tool_call>{code}</tool_call>", "never"]
    services.tool_turns.approved_by = "test"
    cid = services.turns.new_conversation().id
    services.turns.send(cid, "Sleep", extras={"tools": ["python"]})

    def running() -> bool:
        turn = services.turns.current
        state = tool_state(turn) if turn is not None else None
        return state is not None and state.running

    assert events.run_until(running, timeout=10)
    assert events.run_until(lambda: bool(sandbox._running), timeout=10)  # the program started
    time.sleep(0.5)  # it printed
    services.turns.stop()
    assert not services.turns.streaming
    path = services.store.active_path(cid)
    assert [m.role for m in path] == ["user", "assistant", "tool"]
    assert path[1].status == "interrupted"
    assert path[2].content == "half done\n[stopped: stopped by the user]"  # it ran, then Stop
    assert len(scripted_engine.requests) == 1
    assert services.store.tool_audit()[0].error == path[2].content  # the audit says the same


def test_a_plain_turn_with_tools_offered_is_unchanged(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.replies = ["Just text, no calls."]
    cid = run_turn(services, events, "Hi", tools=["calculator"])
    path = services.store.active_path(cid)
    assert [(m.role, m.content) for m in path] == [
        ("user", "Hi"),
        ("assistant", "Just text, no calls."),
    ]
    assert [t["function"]["name"] for t in scripted_engine.requests[0]["tools"]] == ["calculator"]


def test_show_prompt_has_the_tools_the_turn_offers(
    services: AppServices, events: EventQueue
) -> None:
    cid = services.turns.new_conversation().id
    services.store.append_message(cid, "user", "hi")
    assert "<tool>" not in services.chat.render_prompt(cid).result()[0]
    text = services.chat.render_prompt(cid, {"tools": ALL_TOOLS}).result()[0]
    assert "<tool>calculator</tool>" in text
