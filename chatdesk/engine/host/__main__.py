"""``python -m chatdesk.engine.host``: run an engine host on stdin/stdout."""

from chatdesk.engine.host.main import main

raise SystemExit(main())
