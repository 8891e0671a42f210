"""The API server's defaults (no imports: the command line reads them at start-up)."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_BODY = 4 * 1024 * 1024  # bytes of request body
DEFAULT_MAX_TOKENS_LIMIT = 8192
