"""Entry point of the frozen ChatDesk app: the same command line as the installed ``chatdesk``.

The bundle's executable runs this script, which hands every argument to
``chatdesk.cli.main.main`` (no arguments opens the window). In a frozen app there is no
``python -m``, so the engine client starts the engine host as ``[sys.executable,
"__engine-host"]``: a hidden sub-command of that same command line.
"""

from __future__ import annotations

import multiprocessing
import sys


def main(argv: list[str] | None = None) -> int:
    """Run one invocation of the frozen executable; returns the exit status."""
    multiprocessing.freeze_support()  # a multiprocessing child of a frozen app re-enters here
    from chatdesk.cli.main import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
