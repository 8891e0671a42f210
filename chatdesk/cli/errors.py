"""The one exception type the command line turns into a clean error line."""

from __future__ import annotations


class CLIError(Exception):
    """A user-facing failure: printed as one line on stderr, exit status ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
