"""Entry point of the ``chatdesk`` command: no arguments opens the window."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence
from typing import Any

from chatdesk import __version__
from chatdesk.cli import (
    cache_command,
    conversations,
    docs_commands,
    engine_commands,
    model_commands,
    remote_commands,
    serve_command,
    tool_commands,
)
from chatdesk.cli.errors import CLIError


class CommandParser(argparse.ArgumentParser):
    """A parser whose commands take their options anywhere, also between two positionals.

    Plain argparse fills every positional at the first run of positional words, so
    ``ask MODEL --max-tokens 5 "Hello"`` (two optional positionals) left "Hello"
    unrecognised. A command parses intermixed instead; a parser of sub-commands (or of a
    REMAINDER positional), which intermixing cannot handle, parses as usual. Nested
    sub-command parsers inherit this class from their parent."""

    _intermixing = False

    def parse_known_args(  # type: ignore[override]  # one signature for typeshed's overloads
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        if self._intermixing or not self._intermixable():
            return super().parse_known_args(args, namespace)
        self._intermixing = True  # parse_known_intermixed_args calls parse_known_args
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False

    def _intermixable(self) -> bool:
        kinds = {action.nargs for action in self._get_positional_actions()}
        return not kinds & {argparse.PARSER, argparse.REMAINDER}


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser; each command group registers its own sub-commands."""
    parser = argparse.ArgumentParser(prog="chatdesk", description="Offline chat with GGUF models.")
    parser.add_argument("--version", action="version", version=f"chatdesk {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    conversations.register(commands)
    engine_commands.register(commands)
    model_commands.register(commands)
    tool_commands.register(commands)
    docs_commands.register(commands)
    remote_commands.register(commands)
    serve_command.register(commands)
    cache_command.register(commands)
    return parser


def open_window() -> int:
    """Start the desktop app (imports Qt only now, so command-line use stays light)."""
    from chatdesk.ui.app import run_app

    return run_app(sys.argv[:1])


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status; errors become one line on stderr."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list:
        return open_window()
    parser = build_parser()
    args = parser.parse_args(args_list)
    if not args.command.startswith("__"):  # the engine host's own stderr is its log
        from chatdesk.logs import setup_logging

        setup_logging()
    if args.command is None:
        parser.print_help()
        return 2
    try:
        status: int = args.handler(args)
        sys.stdout.flush()  # output still buffered meets a closed pipe here, not at exit
    except CLIError as error:
        print(f"chatdesk: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("chatdesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return closed_pipe()
    except Exception as error:  # every failure is one line, whatever raised it
        print(f"chatdesk: error: {unexpected(error)}", file=sys.stderr)
        return 1
    return status


def closed_pipe() -> int:
    """The reader of stdout went away (``chatdesk show ID | head -2``): a normal end.

    One place for every command: a write during the command or main()'s final flush of
    what it left buffered (a short ``ask --json`` piped to ``head -c``) lands here. Standard
    output is pointed at the null device so that Python's final flush at exit
    cannot fail again and print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def unexpected(error: Exception) -> str:
    """One line for an error no command turned into a CLIError (a damaged database ...)."""
    if isinstance(error, sqlite3.DatabaseError):
        return f"database error: {error}"
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return f"cannot access{where}: {error.strerror or error}"
    text = " ".join(str(error).split()) or "no details"
    return f"{type(error).__name__}: {text}"
