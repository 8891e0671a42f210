"""MCP servers that misbehave: ``crash`` (exits at once), ``hang`` (never answers),
``garbage`` (answers every line with noise), ``crash-on-call`` (lists, then dies),
``flood`` (a working SDK server that floods stderr all the while), ``flood-hang`` (floods
stderr and never answers), ``exit-on-call`` (lists, then its tool calls ``sys.exit(3)``)."""

import sys
import time

mode = sys.argv[1]
if mode == "crash":
    print("fatal: cannot open the database", file=sys.stderr)
    sys.exit(3)
if mode == "hang":
    time.sleep(3600)
if mode == "garbage":
    for _line in sys.stdin:
        print("<html>this is not JSON-RPC</html>", flush=True)
if mode.startswith("flood"):
    import threading

    def flood() -> None:
        line = ("x" * 1023 + "\n") * 64
        while True:
            sys.stderr.write(line)

    threading.Thread(target=flood, daemon=True).start()
    if mode == "flood-hang":
        time.sleep(3600)
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("noisy")

    @server.tool()
    def ping() -> str:
        """Answers pong."""
        return "pong"

    server.run()
if mode == "crash-on-call":
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("fragile")

    @server.tool()
    def explode() -> str:
        """Kills the server."""
        import os

        os._exit(9)

    server.run()
if mode == "exit-on-call":
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("quitter")

    @server.tool()
    def quit_now() -> str:
        """Exits the server with status 3."""
        sys.exit(3)

    server.run()
