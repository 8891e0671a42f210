"""``chatdesk engines``: add, edit, list and remove remote engines; list a server's models.

Records live in the conversation database's app settings (``RemoteEngineRegistry``); keys
never touch the command line: ``--api-key-stdin`` reads one line from standard input (a
hidden prompt on a terminal) and stores it in the OS keyring, ``--api-key-env VAR`` keeps
only the variable's name and reads ``$VAR`` each time.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chatdesk.cli.errors import CLIError
from chatdesk.engine.client import one_line
from chatdesk.engine.types import EngineError
from chatdesk.remote.registry import KEEP, RegistryError, RemoteEngineRegistry
from chatdesk.services.command_services import CommandServices
from chatdesk.services.types import StoreError


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add ``chatdesk engines ...`` to the chatdesk parser."""
    engines = commands.add_parser("engines", help="remote OpenAI-compatible engines")
    sub = engines.add_subparsers(dest="engines_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a remote engine (a server's base URL)")
    add.add_argument("name", help="a short name for the engine")
    add.add_argument("url", help="base URL, for example http://gpu-box:8000/v1")
    add_key_options(add)
    add.set_defaults(handler=add_command)
    edit = sub.add_parser("edit", help="change an engine's URL, key or CA bundle")
    edit.add_argument("name")
    edit.add_argument("--url", help="new base URL")
    add_key_options(edit)
    edit.add_argument("--no-api-key-env", action="store_true", help="stop reading $VAR")
    edit.add_argument("--no-ca-bundle", action="store_true", help="use the system CAs again")
    edit.set_defaults(handler=edit_command)
    listing = sub.add_parser("list", help="list remote engines")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)
    remove = sub.add_parser("rm", help="remove a remote engine and its stored key")
    remove.add_argument("name")
    remove.set_defaults(handler=rm_command)
    models = sub.add_parser("models", help="list the models a remote engine serves")
    models.add_argument("name")
    models.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(handler=models_command)


def add_key_options(parser: argparse.ArgumentParser) -> None:
    """Where the API key comes from, and a private CA."""
    parser.add_argument("--api-key-env", metavar="VAR", help="read the API key from $VAR")
    parser.add_argument(
        "--api-key-stdin",
        action="store_true",
        help="read the API key from standard input and keep it in the system keyring",
    )
    parser.add_argument("--ca-bundle", metavar="FILE", help="CA certificates (PEM) to trust")


@contextmanager
def registry() -> Iterator[RemoteEngineRegistry]:
    """The registry over the conversation database; its errors as CLI errors."""
    with contextlib.ExitStack() as stack:
        try:
            services = stack.enter_context(CommandServices.opened())
        except StoreError as error:
            raise CLIError(f"cannot open the conversation database: {error}") from None
        try:
            yield services.remote_engines.registry
        except RegistryError as error:
            raise CLIError(str(error)) from None


def read_key(args: argparse.Namespace) -> str | None:
    """The key from standard input when ``--api-key-stdin`` was given."""
    if not args.api_key_stdin:
        return None
    if args.api_key_env:
        raise CLIError("give either --api-key-env or --api-key-stdin, not both")
    key = getpass.getpass("API key: ") if sys.stdin.isatty() else sys.stdin.readline()
    if not key.strip():
        raise CLIError("no API key on standard input")
    return key.strip()


def add_command(args: argparse.Namespace) -> int:
    """``engines add``."""
    key = read_key(args)
    with registry() as engines:
        config, note = engines.add(args.name, args.url, key, args.api_key_env, args.ca_bundle)
    print(f"added {config.name}: {config.base_url} (API key: {config.key_source})")
    if note:
        print(f"API key {note}")
    return 0


def edit_command(args: argparse.Namespace) -> int:
    """``engines edit``."""
    key = read_key(args)
    env: Any = None if args.no_api_key_env else (args.api_key_env or KEEP)
    ca: Any = None if args.no_ca_bundle else (args.ca_bundle or KEEP)
    with registry() as engines:
        config, note = engines.edit(args.name, args.url, key, env, ca)
    print(f"changed {config.name}: {config.base_url} (API key: {config.key_source})")
    if note:
        print(f"API key {note}")
    return 0


def list_command(args: argparse.Namespace) -> int:
    """``engines list``."""
    with registry() as engines:
        configs = engines.list()
    if args.json:
        rows = [{**vars(c), "key_source": c.key_source} for c in configs]
        print(json.dumps(rows, indent=2))
        return 0
    if not configs:
        print("no remote engines (add one: chatdesk engines add NAME URL)")
    for config in configs:
        ca = f", CA bundle {config.ca_bundle}" if config.ca_bundle else ""
        print(f"{config.name}\t{config.base_url}\tAPI key: {config.key_source}{ca}")
    return 0


def rm_command(args: argparse.Namespace) -> int:
    """``engines rm``."""
    with registry() as engines:
        engines.remove(args.name)
    print(f"removed {args.name}")
    return 0


def models_command(args: argparse.Namespace) -> int:
    """``engines models``: ask the server."""
    with registry() as engines:
        engine = engines.open(args.name)
    try:
        models = engine.models().result()
    except EngineError as error:
        raise CLIError(f"{args.name}: {one_line(error)}") from None
    finally:
        engine.close()
    if args.json:
        print(json.dumps([vars(m) for m in models], indent=2))
        return 0
    if not models:
        print(f"{args.name} serves no models")
    for model in models:
        context = f"\tcontext {model.context_length}" if model.context_length else ""
        print(f"{model.id}{context}")
    return 0
