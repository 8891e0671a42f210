"""One MCP session per server: a real SDK server started once for many calls, closed when
idle or at exit, started again after it died, and kept when Stop cancels a call."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from chatdesk.tools.mcp_servers import (
    STOPPED,
    McpError,
    McpServer,
    ServerConfig,
    close_sessions,
    stop_calls,
)

SERVERS = Path(__file__).parent / "servers"


def weather(starts: Path, **options: float) -> McpServer:
    config = ServerConfig(
        "weather",
        command=sys.executable,
        args=(str(SERVERS / "weather_server.py"),),
        env={"WEATHER_STARTS": str(starts)},
    )
    return McpServer(config, **options)


def started(starts: Path) -> list[int]:
    return [int(line) for line in starts.read_text().split()] if starts.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" not in status.read_text()


def wait_until(check: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def running(starts: Path, city: str = "Bern", **options: float) -> tuple[McpServer, int]:
    """A server that answered one call (so its session is open) and its process id."""
    server = weather(starts, **options)
    assert server.call_tool("get_weather", {"city": city}).text.startswith(city)
    (pid,) = started(starts)
    return server, pid


@pytest.fixture(autouse=True)
def no_sessions_left() -> object:
    yield
    close_sessions()


def test_many_calls_start_the_server_once_and_exit_closes_it(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    assert "get_weather" in {s.name for s in weather(starts).list_tools()}
    for city in ("Paris", "Oslo", "Rome"):  # a new McpServer each time, as the service does
        assert weather(starts).call_tool("get_weather", {"city": city}).text.startswith(city)
    assert len(started(starts)) == 1
    (pid,) = started(starts)
    assert alive(pid)
    close_sessions()
    assert wait_until(lambda: not alive(pid))


def test_an_idle_session_closes_and_the_next_call_opens_one(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    server, pid = running(starts, "Lima", idle_close=1.0)
    assert wait_until(lambda: not alive(pid))  # closed after 1 s with nothing in flight
    assert server.call_tool("get_weather", {"city": "Kyiv"}).text.startswith("Kyiv")
    assert len(started(starts)) == 2


def test_a_killed_server_is_started_again(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    server, pid = running(starts, call_timeout=20)
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(pid))
    time.sleep(2.5)  # quiet long enough to be checked before use
    assert server.call_tool("get_weather", {"city": "Graz"}).text.startswith("Graz")
    assert server.call_tool("get_weather", {"city": "Linz"}).text.startswith("Linz")
    assert len(started(starts)) == 2


def test_a_server_dying_in_a_call_is_one_clear_error_then_started_again(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    server, pid = running(starts, call_timeout=20)
    killer = threading.Timer(1.0, os.kill, (pid, signal.SIGKILL))
    killer.start()
    began = time.monotonic()
    with pytest.raises(McpError) as error:
        server.call_tool("wait", {"seconds": 10})
    assert time.monotonic() - began < 8  # not the 10 s tool nor the 20 s limit
    assert str(error.value).startswith("MCP server 'weather' call wait: ")
    assert "\n" not in str(error.value)
    assert server.call_tool("get_weather", {"city": "Linz"}).text.startswith("Linz")
    assert len(started(starts)) == 2


def test_stop_cancels_the_call_in_flight_and_keeps_the_session(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    server, _pid = running(starts, "Pisa", call_timeout=60)
    errors: list[str] = []

    def slow_call() -> None:
        try:
            server.call_tool("wait", {"seconds": 30})
        except McpError as error:
            errors.append(str(error))

    worker = threading.Thread(target=slow_call)
    began = time.monotonic()
    worker.start()
    time.sleep(1.5)  # the call is running in the server
    stop_calls()
    worker.join(10)
    assert not worker.is_alive()
    assert time.monotonic() - began < 10
    assert errors
    assert STOPPED in errors[0]
    assert server.call_tool("get_weather", {"city": "Bari"}).text.startswith("Bari")
    assert len(started(starts)) == 1  # the same server answered
