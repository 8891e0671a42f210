"""``chatdesk serve``: ChatDesk's OpenAI-compatible API over a local model.

The model loads in an engine host (as for ``ask``), then uvicorn serves the API in the
foreground until Ctrl-C. Without ``--model`` the model used last (window or CLI) is
served. Binding anywhere but loopback needs ``--api-key-env VAR`` (see
``chatdesk.api.server``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from chatdesk.api.defaults import DEFAULT_HOST, DEFAULT_MAX_TOKENS_LIMIT, DEFAULT_PORT
from chatdesk.cli.errors import CLIError


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add ``chatdesk serve``."""
    serve = commands.add_parser("serve", help="serve a model through an OpenAI-compatible API")
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument("--model", help="a .gguf file (default: the model used last)")
    serve.add_argument(
        "--model-id", help="the model id clients use (default: the file name without .gguf)"
    )
    serve.add_argument("--api-key-env", metavar="VAR", help="require the API key in $VAR")
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser pages from ORIGIN (repeatable; default: none)",
    )
    serve.add_argument(
        "--max-tokens-limit",
        type=int,
        default=DEFAULT_MAX_TOKENS_LIMIT,
        help="largest max_tokens a request may ask for",
    )
    serve.add_argument("--ctx", type=int, help="context length in tokens")
    serve.add_argument("--threads", type=int, help="CPU threads")
    serve.add_argument("--gpu-layers", type=int, help="layers to offload to the GPU (-1 = all)")
    serve.set_defaults(handler=run_serve)


def model_argument(args: argparse.Namespace) -> str:
    """The model to serve: ``--model``, else the one used last."""
    if args.model:
        return args.model
    from chatdesk.services.settings import SettingsService
    from chatdesk.store import Store, StoreError

    try:
        with Store() as store:
            last = SettingsService(store).last_model()
    except StoreError as error:
        raise CLIError(f"cannot open the conversation database: {error}") from None
    if last is None:
        raise CLIError("no model given and none used before: pass --model PATH")
    return last


def api_key(args: argparse.Namespace) -> str | None:
    """The key from ``$VAR`` when ``--api-key-env VAR`` was given."""
    if not args.api_key_env:
        return None
    key = os.environ.get(args.api_key_env, "").strip()
    if not key:
        raise CLIError(f"--api-key-env {args.api_key_env}: the variable is empty or not set")
    return key


def run_serve(args: argparse.Namespace) -> int:
    """Load the model, then serve until interrupted."""
    from chatdesk.api.app import ApiConfig, create_app, default_model_id
    from chatdesk.api.scheduler import FairScheduler
    from chatdesk.api.server import ApiServer, BindError, check_bind
    from chatdesk.cli.engine_commands import resolve_model
    from chatdesk.engine.client import EngineClient, one_line
    from chatdesk.engine.types import EngineError, LoadOptions

    key = api_key(args)
    try:
        access = check_bind(args.host, key)
    except BindError as error:
        raise CLIError(str(error)) from None
    path = resolve_model(model_argument(args))
    with EngineClient() as engine:
        options = LoadOptions(
            path, n_ctx=args.ctx, n_gpu_layers=args.gpu_layers, n_threads=args.threads
        )
        try:
            info = engine.load(options).result()
        except EngineError as error:
            raise CLIError(one_line(error)) from None
        config = ApiConfig(
            key,
            tuple(args.cors_origin),
            max_tokens_limit=args.max_tokens_limit,
            model_id=args.model_id,
        )
        server = ApiServer(create_app(FairScheduler(engine), config), args.host, args.port)
        model_id = args.model_id or default_model_id(info)
        print(
            f"serving {model_id} at http://{args.host}:{args.port}/v1 ({access}); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        server.run()
    return 0
