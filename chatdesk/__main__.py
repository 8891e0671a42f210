"""Allow ``python -m chatdesk``."""

from chatdesk.cli.main import main

raise SystemExit(main())
