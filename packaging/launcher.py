"""Entry point of the frozen ChatDesk app: the same command line as the installed ``chatdesk``.

The bundle's executable runs this script. It dispatches to ``chatdesk.cli.main.main`` (no
arguments opens the window), except for the hidden sub-command the engine client uses to
start the engine host inside the frozen app, where there is no ``python -m``: there
``sys.executable`` is the bundle's own executable, so the client runs
``[sys.executable, "__engine-host", ...]`` instead of ``[python, "-m", HOST_MODULE, ...]``.
"""

from __future__ import annotations

import multiprocessing
import runpy
import sys

ENGINE_HOST_COMMAND = "__engine-host"
ENGINE_HOST_MODULE = "chatdesk.engine.host"


def run_engine_host(args: list[str]) -> int:
    """Run the engine host module as ``python -m`` would, with the remaining arguments."""
    sys.argv = [sys.argv[0], *args]
    runpy.run_module(ENGINE_HOST_MODULE, run_name="__main__", alter_sys=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Dispatch one invocation of the frozen executable; returns the exit status."""
    multiprocessing.freeze_support()  # child processes of a frozen app re-enter here
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == [ENGINE_HOST_COMMAND]:
        return run_engine_host(args[1:])
    from chatdesk.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
