"""The tools service: what is offered to the model, policies, switches, and the record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.services.tools import Approval, ToolsError, ToolsService
from chatdesk.store import Store
from chatdesk.tools.calls import ToolCall


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ToolsService]:
    with Store(tmp_path / "chatdesk.db") as store:
        yield ToolsService(store, tmp_path / "mcp.json")


def names(schemas: list[dict[str, object]]) -> list[str]:
    return [s["function"]["name"] for s in schemas]  # type: ignore[index]


def test_schemas_offer_enabled_tools_that_are_not_denied(service: ToolsService) -> None:
    assert names(service.schemas()) == [
        "python",
        "calculator",
        "current_time",
        "search_conversations",
    ]
    service.set_policy("python", "deny")
    service.set_enabled("current_time", False)
    assert names(service.schemas()) == ["calculator", "search_conversations"]
    assert names(service.schemas(["calculator"])) == ["calculator"]
    with pytest.raises(ToolsError, match="unknown tool: nope"):
        service.schemas(["nope"])


def test_every_schema_is_a_function_with_an_object_schema(service: ToolsService) -> None:
    for schema in service.schemas():
        parameters = schema["function"]["parameters"]  # type: ignore[index]
        assert schema["type"] == "function"
        assert parameters["type"] == "object"
        assert "properties" in parameters


def test_denied_and_switched_off_tools_do_not_run(service: ToolsService) -> None:
    service.set_policy("calculator", "deny")
    denied = service.run(ToolCall("calculator", {"expression": "1+1"}), approved_by="--yes")
    assert denied.outcome.is_error
    assert denied.approval == "denied"
    service.set_enabled("current_time", False)
    off = service.run(ToolCall("current_time", {}), approved_by="--yes")
    assert "switched off" in off.outcome.text
    assert [e.approval for e in service.store.tool_audit()] == ["not run", "denied"]


def test_ask_without_anyone_to_ask_denies(service: ToolsService) -> None:
    run = service.run(ToolCall("calculator", {"expression": "1+1"}))
    assert run.approval == "denied"


def test_arguments_are_checked_against_the_schema(service: ToolsService) -> None:
    missing = service.run(ToolCall("calculator", {}), approve=lambda r: Approval.ONCE)
    assert missing.outcome.text == "Error: missing argument 'expression'"
    wrong = service.run(ToolCall("calculator", {"expression": 5}), approve=lambda r: Approval.ONCE)
    assert wrong.outcome.text == "Error: argument 'expression' must be of type string"
    extra = service.run(ToolCall("current_time", {"zone": "x"}), approve=lambda r: Approval.ONCE)
    assert "unknown argument 'zone'" in extra.outcome.text


def test_search_conversations_reads_the_users_history(service: ToolsService) -> None:
    store = service.store
    cid = store.create_conversation("Sourdough starter").id
    store.append_message(cid, "user", "How often should I feed my sourdough starter?")
    run = service.run(ToolCall("search_conversations", {"query": "sourdough"}), approved_by="t")
    assert "Sourdough starter" in run.outcome.text


def test_current_time_in_a_zone(service: ToolsService) -> None:
    run = service.run(ToolCall("current_time", {"timezone": "Asia/Tokyo"}), approved_by="t")
    assert "JST" in run.outcome.text
    assert "UTC+0900" in run.outcome.text
    bad = service.run(ToolCall("current_time", {"timezone": "Mars/Olympus"}), approved_by="t")
    assert bad.outcome.text == "Error: unknown time zone 'Mars/Olympus'"


def test_step_limit_setting(service: ToolsService) -> None:
    assert service.max_steps() == 8
    service.set_max_steps(3)
    assert service.max_steps() == 3
    with pytest.raises(ToolsError, match="from 1 to 50"):
        service.set_max_steps(0)


def test_bad_policy_is_refused(service: ToolsService) -> None:
    with pytest.raises(ToolsError, match="ask, allow, deny"):
        service.set_policy("python", "sometimes")
