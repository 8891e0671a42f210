"""A real MCP server written with the official SDK (stdio, or streamable HTTP with --http PORT).

With ``WEATHER_STARTS`` set, each start appends its process id to that file (tests count
server starts)."""

import os
import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("weather")


@server.tool()
def get_weather(city: str, units: str = "celsius") -> str:
    """Current weather in a city."""
    return f"{city}: 18 degrees {units}, clear sky"


@server.tool()
def fail_loudly(reason: str) -> str:
    """Always fails with the given reason."""
    raise ValueError(reason)


@server.tool()
def shout(text: str) -> str:
    """The text in capitals, repeated a lot."""
    return text.upper() * 100_000


@server.tool()
def wait(seconds: float) -> str:
    """Waits, then says so (a slow tool)."""
    time.sleep(seconds)
    return f"waited {seconds} s"


if __name__ == "__main__":
    if os.environ.get("WEATHER_STARTS"):
        with open(os.environ["WEATHER_STARTS"], "a") as starts:
            starts.write(f"{os.getpid()}\n")
    if len(sys.argv) > 2 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
