"""Entry point of the frozen ChatDesk app: the same command line as the installed ``chatdesk``.

The bundle's executable runs this script, which hands every argument to
``chatdesk.cli.main.main`` (no arguments opens the window). In a frozen app there is no
``python -m``, so the engine client starts the engine host as ``[sys.executable,
"__engine-host"]``: a hidden sub-command of that same command line.

The python tool's sandbox child (``__python-sandbox``) is the exception: it is recognised
here, before anything else is imported, and runs ``chatdesk.tools.sandbox_child`` (standard
library only). The command line would import numpy, whose OpenBLAS starts threads, and a
process with threads can no longer enter new namespaces (``unshare`` fails with EINVAL).
"""

from __future__ import annotations

import sys

SANDBOX_SUBCOMMAND = "__python-sandbox"  # == chatdesk.tools.sandbox.SANDBOX_SUBCOMMAND


def main(argv: list[str] | None = None) -> int:
    """Run one invocation of the frozen executable; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == [SANDBOX_SUBCOMMAND]:
        from chatdesk.tools import sandbox_child

        sandbox_child.main()
        return 0
    import multiprocessing

    multiprocessing.freeze_support()  # a multiprocessing child of a frozen app re-enters here
    from chatdesk.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
