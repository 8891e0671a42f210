"""Conversation commands: list, search, show, export, import and rm.

Every command opens the services over the store at ``chatdesk.paths.database_path()``
(``CHATDESK_HOME`` moves it; ``CommandServices``), never the store itself. Failures become
``CLIError``: one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatdesk.cli.errors import CLIError
from chatdesk.cli.terminal_text import safe_for_terminal
from chatdesk.export import FORMATS, ExportError, counted
from chatdesk.export.markdown import tool_call_parts
from chatdesk.services.command_services import CommandServices
from chatdesk.services.conversations import ConversationIdError
from chatdesk.services.types import Conversation, Message, StoreError

SHORT_ID = 12
Handler = Callable[[argparse.Namespace], int]


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add the conversation commands to the chatdesk parser."""
    add_list(commands)
    add_search(commands)
    add_show(commands)
    add_export(commands)
    add_import(commands)
    add_rm(commands)


def add_list(commands: Any) -> None:
    parser = commands.add_parser("list", help="list conversations (pinned first, then newest)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--limit", type=int, default=None, help="at most this many")
    parser.set_defaults(handler=list_command)


def add_search(commands: Any) -> None:
    parser = commands.add_parser("search", help="full-text search of titles and messages")
    parser.add_argument("text", nargs="+", help="words to look for (all must match)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--limit", type=int, default=20, help="at most this many hits")
    parser.set_defaults(handler=search_command)


def add_show(commands: Any) -> None:
    parser = commands.add_parser("show", help="print a conversation's active branch")
    parser.add_argument("id", help="conversation id, or a unique start of it")
    parser.add_argument("--json", action="store_true", help="print the lossless JSON export")
    parser.set_defaults(handler=show_command)


def add_export(commands: Any) -> None:
    parser = commands.add_parser("export", help="export one or all conversations")
    parser.add_argument("id", nargs="?", help="conversation id, or a unique start of it")
    parser.add_argument("--all", action="store_true", help="every conversation, one file each")
    parser.add_argument("--format", choices=FORMATS, default="md", help="md (default) or json")
    parser.add_argument(
        "-o", "--output", type=Path, help="file (folder with --all); default: standard output"
    )
    parser.add_argument(
        "--token-probabilities",
        action="store_true",
        help="JSON only: include the token probabilities kept with replies",
    )
    parser.set_defaults(handler=export_command)


def add_import(commands: Any) -> None:
    parser = commands.add_parser("import", help="import conversations from a JSON file")
    parser.add_argument("file", help="JSON file ('-' for standard input)")
    parser.set_defaults(handler=import_command)


def add_rm(commands: Any) -> None:
    parser = commands.add_parser("rm", help="delete a conversation (asks first)")
    parser.add_argument("id", help="conversation id, or a unique start of it")
    parser.add_argument("-y", "--yes", action="store_true", help="delete without asking")
    parser.set_defaults(handler=rm_command)


def user_errors(handler: Handler) -> Handler:
    """Turn store, export, file and database errors into CLIError (one line, exit status 1)."""

    @functools.wraps(handler)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (StoreError, ExportError, ConversationIdError) as error:
            raise CLIError(str(error)) from error
        except sqlite3.Error as error:
            raise CLIError(f"database error: {error}") from error
        except BrokenPipeError:
            raise  # the reader closed the pipe (`| head`): main() ends quietly
        except OSError as error:
            where = f" {error.filename}" if error.filename else ""
            raise CLIError(f"cannot access{where}: {error.strerror or error}") from error

    return wrapper


def opened_services() -> contextlib.AbstractContextManager[CommandServices]:
    """The services over the user's database, closed afterwards."""
    return CommandServices.opened()


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def when(timestamp: str) -> str:
    return f"{timestamp[:10]} {timestamp[11:16]}"


def conversation_line(conversation: Conversation) -> str:
    pin = "*" if conversation.pinned else " "
    title = one_line(conversation.title, 70)
    return f"{conversation.id[:SHORT_ID]}  {when(conversation.updated_at)}  {pin} {title}"


@user_errors
def list_command(args: argparse.Namespace) -> int:
    """chatdesk list [--json] [--limit N]"""
    with opened_services() as services:
        conversations = services.conversations.page(args.limit)
    if args.json:
        print_json([dataclasses.asdict(c) for c in conversations])
        return 0
    if not conversations:
        print("no conversations yet", file=sys.stderr)
    for conversation in conversations:
        print(conversation_line(conversation))
    return 0


@user_errors
def search_command(args: argparse.Namespace) -> int:
    """chatdesk search TEXT [--json] [--limit N]"""
    with opened_services() as services:
        hits = services.conversations.search(" ".join(args.text), args.limit, marked=False)
    if args.json:
        print_json([dataclasses.asdict(hit) for hit in hits])
        return 0
    if not hits:
        print("no matches", file=sys.stderr)
    for hit in hits:
        where = "title" if hit.message_id is None else "message"
        title = one_line(hit.title, 40)
        print(f"{hit.conversation_id[:SHORT_ID]}  {title} ({where}): {one_line(hit.snippet, 100)}")
    return 0


def message_heading(services: CommandServices, message: Message) -> str:
    """``── assistant · model · 2 of 3 ──``: role, model and which branch this is."""
    parts = [message.role]
    if message.model:
        parts.append(message.model)
    if message.status != "complete":
        parts.append(message.status)
    siblings = services.conversations.siblings(message.id)
    if len(siblings) > 1:
        index = [s.id for s in siblings].index(message.id) + 1
        parts.append(f"branch {index} of {len(siblings)}")
    return f"── {' · '.join(parts)} ──"


def transcript(services: CommandServices, cid: str) -> str:
    """The active branch as plain text for a terminal."""
    conversation = services.conversations.conversation(cid)
    lines = [conversation.title, f"id: {conversation.id}"]
    lines.append(
        f"created: {when(conversation.created_at)}  updated: {when(conversation.updated_at)}"
    )
    if conversation.model:
        lines.append(f"model: {conversation.model}")
    if conversation.system_prompt:
        lines.append(f"system prompt: {conversation.system_prompt}")
    for message in services.conversations.active_path(cid):
        lines += ["", message_heading(services, message), *terminal_body(message)]
    return "\n".join(lines)


def terminal_body(message: Message) -> list[str]:
    """A message's lines for a terminal: its text, the tools it called, a tool result's
    call, and why a reply failed (control characters of untrusted text made visible)."""
    lines = [message.content] if message.content else []
    if message.tool_call_id:
        lines.insert(0, f"(result of call {message.tool_call_id})")
    for call in message.tool_calls or []:
        name, call_id, arguments = tool_call_parts(call, indent=None)
        lines.append(f"→ called {name} {arguments} (call {call_id})")
    if message.error:
        lines.append(f"[error: {message.error}]")
    return [safe_for_terminal(line) for line in lines]


@user_errors
def show_command(args: argparse.Namespace) -> int:
    """chatdesk show ID [--json]"""
    with opened_services() as services:
        cid = services.conversations.resolve_id(args.id)
        if args.json:
            sys.stdout.write(services.export.record_text(cid))
        else:
            print(transcript(services, cid))
    return 0


@user_errors
def export_command(args: argparse.Namespace) -> int:
    """chatdesk export (ID | --all) --format md|json [-o PATH]"""
    if args.all == (args.id is not None):
        raise CLIError("give either a conversation ID or --all")
    with opened_services() as services:
        export = services.export
        if args.all:
            if args.output is None:
                raise CLIError("--all needs -o FOLDER")
            written = export.all_to(args.output, args.format, args.token_probabilities)
            print(
                f"exported {counted(len(written), 'conversation')} to {args.output}",
                file=sys.stderr,
            )
            return 0
        cid = services.conversations.resolve_id(args.id)
        if args.output is None or str(args.output) == "-":
            sys.stdout.write(export.to_text(cid, args.format, args.token_probabilities))
        else:
            export.to_file(cid, args.format, args.output, args.token_probabilities)
            print(f"exported to {args.output}", file=sys.stderr)
    return 0


@user_errors
def import_command(args: argparse.Namespace) -> int:
    """chatdesk import FILE"""
    with opened_services() as services:
        if args.file == "-":
            result = services.export.import_from(None, sys.stdin.read())
        else:
            result = services.export.import_from(Path(args.file))
    conversations = counted(len(result.conversation_ids), "conversation")
    print(f"imported {conversations} ({counted(result.message_count, 'message')})")
    if result.renumbered:
        print(f"{result.renumbered} were already here and were imported as copies with new ids")
    return 0


@user_errors
def rm_command(args: argparse.Namespace) -> int:
    """chatdesk rm ID [--yes]"""
    with opened_services() as services:
        conversations = services.conversations
        cid = conversations.resolve_id(args.id)
        conversation = conversations.conversation(cid)
        count = conversations.count_messages(cid)
        what = f"{conversation.title!r} ({count} messages, id {cid[:SHORT_ID]})"
        if not args.yes and not confirmed(f"Delete {what}? [y/N] "):
            raise CLIError("nothing was deleted")
        conversations.delete(cid)
    print(f"deleted {what}", file=sys.stderr)
    return 0


def confirmed(question: str) -> bool:
    """Ask on stderr, read the answer from stdin (end of input: no)."""
    print(question, end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")
