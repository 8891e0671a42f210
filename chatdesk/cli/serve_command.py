"""``chatdesk serve``: ChatDesk's OpenAI-compatible API over a local model, or over a
remote engine's model (``--engine NAME --model ID``, as ``ask`` takes them).

The model loads in an engine host (as for ``ask``), then uvicorn serves the API in the
foreground until Ctrl-C. Without ``--model`` the model used last (window or CLI, local or
remote) is served. Binding anywhere but loopback needs ``--api-key-env VAR`` (see
``chatdesk.api.server``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from chatdesk.api.defaults import DEFAULT_HOST, DEFAULT_MAX_TOKENS_LIMIT, DEFAULT_PORT
from chatdesk.cli.engine_commands import resolve_model
from chatdesk.cli.errors import CLIError
from chatdesk.engine.client import one_line
from chatdesk.engine.types import EngineError

if TYPE_CHECKING:
    from chatdesk.services.api_server import ApiServerService
    from chatdesk.services.app_services import AppServices


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add ``chatdesk serve``."""
    serve = commands.add_parser("serve", help="serve a model through an OpenAI-compatible API")
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--model", help="a .gguf file, or with --engine a model id (default: the model used last)"
    )
    serve.add_argument(
        "--engine",
        metavar="NAME",
        help="serve a remote engine's model (chatdesk engines add): --model is one of its ids",
    )
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
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host is NAME (repeatable; '*': any; default: "
        "only localhost, 127.0.0.1, [::1] and --host, against DNS rebinding)",
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
    serve.add_argument(
        "--save-conversations",
        action="store_true",
        help="keep every chat request and its reply as a conversation (default: off)",
    )
    serve.set_defaults(handler=run_serve)


def model_argument(args: argparse.Namespace) -> str:
    """The model to serve: ``--engine``'s model id, ``--model``, else the one used last
    (a local file or a remote engine's model)."""
    from chatdesk.services.remote_engines import parse_remote_model_key, remote_model_key

    if args.engine:
        if not args.model:
            raise CLIError("--engine NAME needs --model MODEL_ID (chatdesk engines models NAME)")
        return remote_model_key(args.engine, args.model)
    last = args.model or last_model()
    return last if parse_remote_model_key(last) else str(resolve_model(last))


def last_model() -> str:
    """The model used last, in the window or on the command line."""
    from chatdesk.services.command_services import CommandServices
    from chatdesk.services.types import StoreError

    try:
        with CommandServices.opened() as services:
            last = services.settings.last_model()
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
    """Load the model, then serve until interrupted (the same services as the window)."""
    from chatdesk.api.server import BindError, check_bind, check_free, check_port
    from chatdesk.services.app_services import AppServices

    key = api_key(args)
    try:
        check_port(args.port)
        check_bind(args.host, key)
        check_free(args.host, args.port)
    except BindError as error:
        raise CLIError(str(error)) from None
    path = model_argument(args)
    services = AppServices.create()
    try:
        load(services, path, args)
        server = services.api_server
        access = server.start(
            args.host, args.port, key, args.save_conversations,
            cors_origins=tuple(args.cors_origin), max_tokens_limit=args.max_tokens_limit,
            allowed_hosts=tuple(args.allow_host),
            model_id=args.model_id,
        )  # fmt: skip
        model_id = served_id(server, args)
        print(f"serving {model_id} at {server.url} ({access}); Ctrl-C stops", file=sys.stderr)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly when terminated
        threading.Event().wait()
    except OSError as error:
        raise CLIError(f"cannot serve on {args.host}:{args.port}: {error}") from None
    finally:
        services.close()
    return 0


def load(services: AppServices, path: str, args: argparse.Namespace) -> None:
    """Load the model with its saved settings, overridden by --ctx/--threads/--gpu-layers."""
    from chatdesk.engine.types import LoadOptions
    from chatdesk.services.engine_session import ModelState, load_options

    saved = load_options(
        path, services.settings.model_settings(path), services.settings.state_cache_limits()
    ).to_dict()
    flags = {"n_ctx": args.ctx, "n_threads": args.threads, "n_gpu_layers": args.gpu_layers}
    options = LoadOptions(**{**saved, **{k: v for k, v in flags.items() if v is not None}})
    future = services.engine.load(path, options)
    try:
        if future is not None:
            future.result()
    except EngineError as error:
        raise CLIError(one_line(error)) from None
    while services.engine.status.state is ModelState.LOADING:  # its listeners run just after
        time.sleep(0.01)
    if not services.engine.ready:
        raise CLIError(services.engine.status.error or f"cannot load {path}")


def served_id(server: ApiServerService, args: argparse.Namespace) -> str:
    """The model id clients use."""
    from chatdesk.api.app import default_model_id

    info = server.scheduler.engine.model_info
    return args.model_id or (default_model_id(info) if info else "")
