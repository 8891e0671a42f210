"""Start-up of the engine-host process."""

from __future__ import annotations

import signal
import sys


def main() -> int:
    """Serve the engine protocol on stdin/stdout until the app closes the pipe."""
    from chatdesk.engine.host.server import claim_stdout

    out_fd = claim_stdout()  # first: nothing may write to the protocol stream but frames
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is for the app
    from chatdesk.engine.host.engine import Engine
    from chatdesk.engine.host.llama_log import LlamaLog
    from chatdesk.engine.host.server import HostServer

    log = LlamaLog()
    log.install()
    server = HostServer(Engine(log), sys.stdin.buffer, out_fd)
    return server.run()
