"""``chatdesk tools ...``: list the tools (built-in and MCP), run one directly, see the log.

``chatdesk tools call NAME JSON`` runs one tool with the given arguments, as a check of a
sandbox or an MCP server. The user typing the command is the approval (recorded as
"command line"), unless the tool's policy is "deny". The output is printed as plain text
with its control characters made visible (no terminal escapes reach the terminal);
``--details`` adds what the tool reported (for ``python``: which sandbox limits applied).
A call that could not run (unknown or switched-off tool, "deny" policy) is a failure like
any other: ``chatdesk: error: ...`` on stderr, exit status 1. A tool that ran and reported
an error prints that output on stdout, as the model would read it, also with exit status 1.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from chatdesk.cli.conversations import opened_services, print_json, user_errors
from chatdesk.cli.errors import CLIError
from chatdesk.cli.terminal_text import safe_for_terminal
from chatdesk.services.tools import POLICIES, ToolsError
from chatdesk.tools.calls import ToolCall
from chatdesk.tools.sandbox import SANDBOX_SUBCOMMAND

CLI_APPROVAL = "command line"


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    tools = commands.add_parser("tools", help="list, run and configure tools")
    sub = tools.add_subparsers(dest="tools_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="built-in tools and MCP servers' tools")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)
    call = sub.add_parser("call", help="run one tool directly: chatdesk tools call NAME JSON")
    call.add_argument("name")
    call.add_argument("arguments", nargs="?", default="{}", help="JSON object of arguments")
    call.add_argument("--details", action="store_true", help="also print the tool's details")
    call.set_defaults(handler=call_command)
    policy = sub.add_parser("policy", help="set a tool's policy: ask, allow or deny")
    policy.add_argument("name")
    policy.add_argument("policy", choices=POLICIES)
    policy.set_defaults(handler=policy_command)
    log = sub.add_parser("log", help="the audit log of tool calls, newest first")
    log.add_argument("--limit", type=int, default=20)
    log.set_defaults(handler=log_command)
    child = commands.add_parser(SANDBOX_SUBCOMMAND, add_help=False)  # hidden: frozen app only
    child.set_defaults(handler=run_sandbox_child)


def run_sandbox_child(args: Any) -> int:
    """Hidden: be the python tool's sandboxed process (the frozen app starts itself so)."""
    del args
    from chatdesk.tools import sandbox_child

    sandbox_child.main()
    return 0


@user_errors
def list_command(args: Any) -> int:
    with opened_services() as services:
        service = services.tools
        entries, servers = service.tools(), service.servers()
        if args.json:
            print_json(
                [
                    {
                        "name": e.name,
                        "source": e.spec.source,
                        "enabled": e.enabled,
                        "policy": e.policy,
                        "description": e.spec.description,
                        "parameters": e.spec.parameters,
                    }
                    for e in entries
                ]
            )
            return 0
        for entry in entries:
            state = "on " if entry.enabled else "off"
            print(f"{state}  {entry.policy:<5}  {entry.name:<28}  {entry.spec.source}")
        for server in servers:
            if server.error:
                print(f"MCP server {server.name}: {server.error}", file=sys.stderr)
        if problem := service.config_error():
            print(f"chatdesk: warning: {problem}", file=sys.stderr)
    return 0


def parse_arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise CLIError(
            f"the arguments are not valid JSON: {error.msg} (column {error.colno})"
        ) from None
    if not isinstance(value, dict):
        raise CLIError('the arguments must be a JSON object, e.g. \'{"expression": "1+1"}\'')
    return value


@user_errors
def call_command(args: Any) -> int:
    arguments = parse_arguments(args.arguments)
    with opened_services() as services:
        run = services.tools.run(ToolCall(args.name, arguments), approved_by=CLI_APPROVAL)
    if run.duration_ms is None:  # refused, never ran (the audit log has it all the same)
        raise CLIError(run.outcome.text.removeprefix("Error: "))
    print(safe_for_terminal(run.outcome.text))
    if args.details and run.outcome.details:
        details = json.dumps(run.outcome.details, indent=2, ensure_ascii=False)
        print(safe_for_terminal(details), file=sys.stderr)
    return 1 if run.outcome.is_error else 0


@user_errors
def policy_command(args: Any) -> int:
    with opened_services() as services:
        try:
            services.tools.set_policy(args.name, args.policy)
        except ToolsError as error:
            raise CLIError(str(error)) from None
    return 0


@user_errors
def log_command(args: Any) -> int:
    with opened_services() as services:
        for entry in services.tools.audit_log(args.limit):
            outcome = entry.error or entry.result or ""
            took = f"{entry.duration_ms:.0f} ms" if entry.duration_ms is not None else "-"
            print(f"{entry.started_at}  {entry.tool}  [{entry.approval}]  {took}")
            print(f"    arguments: {safe_for_terminal(entry.arguments[:200])}")
            print(f"    {'error' if entry.error else 'result'}: {outcome[:200]!r}")
    return 0
