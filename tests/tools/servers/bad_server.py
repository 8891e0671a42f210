"""MCP servers that misbehave: ``crash`` (exits at once), ``hang`` (never answers),
``garbage`` (answers every line with noise), ``crash-on-call`` (lists, then dies)."""

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
if mode == "crash-on-call":
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("fragile")

    @server.tool()
    def explode() -> str:
        """Kills the server."""
        import os

        os._exit(9)

    server.run()
