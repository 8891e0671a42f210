"""``chatdesk ask --tools``: a scripted engine that writes tool calls drives the whole loop
through the real CLI, turn service, tools service, sandbox and store."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from chatdesk.cli import terminal_chat
from chatdesk.cli.main import main
from chatdesk.services.app_services import AppServices
from chatdesk.store import Store
from tests.support.scripted_engine import ScriptedEngine

CALC = '<tool_call>{"name": "calculator", "arguments": {"expression": "2**64"}}</tool_call>'


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, chatdesk_home: Path) -> ScriptedEngine:
    scripted = ScriptedEngine(rate=5000)
    create = AppServices.create

    def with_scripted_engine(*args: object, **kwargs: object) -> AppServices:
        return create(client_factory=lambda: scripted)  # type: ignore[arg-type,return-value]

    monkeypatch.setattr(terminal_chat.AppServices, "create", with_scripted_engine)
    return scripted


def ask(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["ask", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_ask_with_tools_and_yes(
    engine: ScriptedEngine, fake_gguf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.replies = [CALC, "2**64 is 18446744073709551616."]
    status, out, err = ask(capsys, str(fake_gguf), "What is 2**64?", "--tools", "calculator",
                           "--yes")  # fmt: skip
    assert status == 0
    assert out == "2**64 is 18446744073709551616.\n"  # the call is never printed as text
    assert "[tool calculator]" in err
    assert "[result] 18446744073709551616" in err
    assert [t["function"]["name"] for t in engine.requests[0]["tools"]] == ["calculator"]
    with Store() as store:
        [entry] = store.tool_audit()
        cid = store.list_conversations()[0].id
        roles = [m.role for m in store.active_path(cid)]
    assert (entry.tool, entry.approval) == ("calculator", "--yes")
    assert roles == ["user", "assistant", "tool", "assistant"]


def test_without_a_terminal_and_without_yes_the_call_is_denied(
    engine: ScriptedEngine, fake_gguf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.replies = [CALC, "I could not calculate."]
    status, out, err = ask(capsys, str(fake_gguf), "2**64?", "--tools", "calculator")
    assert status == 0
    assert out == "I could not calculate.\n"
    assert "pass --yes" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_approval_prompt(
    engine: ScriptedEngine, fake_gguf: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("sys.stdin", Terminal("always\n"))
    engine.replies = [CALC, CALC, "Twice: 18446744073709551616."]
    status, out, err = ask(capsys, str(fake_gguf), "2**64 twice?", "--tools", "all")
    assert status == 0
    assert out.endswith("Twice: 18446744073709551616.\n")
    assert err.count("The model wants to run calculator") == 1  # "always" asked once
    with Store() as store:
        assert [e.approval for e in store.tool_audit()] == ["always allowed", "always allowed"]


def test_unknown_tool_name_is_one_clear_line(
    engine: ScriptedEngine, fake_gguf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = ask(capsys, str(fake_gguf), "hi", "--tools", "calculator,teleport")
    assert status == 1
    assert "unknown tool: teleport" in err


def test_a_call_to_a_tool_not_offered_is_refused_not_run(
    engine: ScriptedEngine, fake_gguf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the tools the chat offered may run, even with --yes and the others enabled."""
    code = '{"code": "print(42)"}'
    engine.replies = [f'<tool_call>{{"name": "python", "arguments": {code}}}</tool_call>', "ok"]
    status, _, err = ask(capsys, str(fake_gguf), "run it", "--tools", "calculator", "--yes")
    assert status == 0
    assert "[result] 42" not in err
    with Store() as store:
        [entry] = store.tool_audit()
        cid = store.list_conversations()[0].id
        [tool_row] = [m for m in store.active_path(cid) if m.role == "tool"]
    assert (entry.tool, entry.approval, entry.duration_ms) == ("python", "not run", None)
    assert "'python' is not offered in this chat (it may call: calculator)" in tool_row.content
    sent_back = engine.requests[1]["messages"][-1]["content"]
    assert "python" not in sent_back.split("it may call:")[1]  # the model hears only its own
