"""``chatdesk tools ...`` run through the CLI's main, with a real MCP server configured."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from chatdesk.cli.main import main
from chatdesk.store import Store

SERVERS = Path(__file__).resolve().parents[1] / "tools" / "servers"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def weather(chatdesk_home: Path) -> Path:
    config = {
        "mcpServers": {
            "weather": {"command": sys.executable, "args": [str(SERVERS / "weather_server.py")]}
        }
    }
    path = chatdesk_home / "mcp.json"
    path.write_text(json.dumps(config))
    return path


def test_list_shows_builtin_and_mcp_tools(
    weather: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(["tools", "list"], capsys)
    assert status == 0
    lines = {line.split()[2]: line.split() for line in out.splitlines()}
    assert lines["calculator"][:2] == ["on", "ask"]
    assert lines["weather__get_weather"][3] == "weather"


def test_call_runs_one_tool_and_records_it(
    chatdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(["tools", "call", "calculator", '{"expression": "2**64 / 4"}'], capsys)
    assert (status, out) == (0, "4611686018427387904\n")
    with Store() as store:
        [entry] = store.tool_audit()
    assert (entry.tool, entry.approval, entry.result) == (
        "calculator",
        "command line",
        "4611686018427387904",
    )


def test_call_an_mcp_tool(weather: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["tools", "call", "weather__get_weather", '{"city": "Lima"}'], capsys)
    assert (status, out) == (0, "Lima: 18 degrees celsius, clear sky\n")


def test_python_details_name_the_sandbox_limits(
    chatdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        ["tools", "call", "python", '{"code": "print(7*6)"}', "--details"], capsys
    )
    assert (status, out) == (0, "42\n")
    assert "rlimits" in json.loads(err)["protections"]


def test_denied_policy_is_respected(
    chatdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["tools", "policy", "python", "deny"], capsys)[0] == 0
    status, out, err = run(["tools", "call", "python", '{"code": "print(1)"}'], capsys)
    assert (status, out) == (1, "")
    assert err == "chatdesk: error: the user denied this tool call\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tools", "call", "calculator", "{oops"], "not valid JSON"),
        (["tools", "call", "calculator", "[1]"], "must be a JSON object"),
        (["tools", "policy", "python", "sometimes"], "invalid choice"),
    ],
)
def test_bad_input_is_one_clear_line(
    chatdesk_home: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    try:
        status, _, err = run(args, capsys)
    except SystemExit as exit_:  # argparse's own refusal
        status, err = int(exit_.code or 0), capsys.readouterr().err
    assert status != 0
    assert message in err


def test_unknown_tool_is_an_error_on_stderr(
    chatdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["tools", "call", "demo__nope", "{}"], capsys)
    assert (status, out) == (1, "")
    assert err.startswith("chatdesk: error: unknown tool 'demo__nope'")


def test_a_tool_that_ran_and_failed_prints_its_own_error(
    chatdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["tools", "call", "python", '{"code": "1/0"}'], capsys)
    assert status == 1
    assert "ZeroDivisionError" in out  # the tool's output, as the model reads it
    assert err == ""


def test_log_lists_calls(chatdesk_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["tools", "call", "current_time", '{"timezone": "Europe/Paris"}'], capsys)
    status, out, _ = run(["tools", "log"], capsys)
    assert status == 0
    assert "current_time  [command line]" in out
    assert "Europe/Paris" in out


def test_terminal_escapes_in_tool_output_are_neutralised(
    chatdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # clear screen, OSC 52 (write the clipboard), a carriage return hiding text, an 8-bit CSI
    code = r"print('\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07safe\rhidden\x9b31m')"
    status, out, _ = run(["tools", "call", "python", json.dumps({"code": code})], capsys)
    assert status == 0
    assert out == "\\x1b[2J\\x1b]52;c;cm0gLXJmIH4=\\x07safe\\x0dhidden\\x9b31m\n"
    assert not any(ord(char) < 32 and char != "\n" for char in out)
