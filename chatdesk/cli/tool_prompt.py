"""Tools in ``chatdesk ask/chat``: the approval prompt in the terminal, and how tool calls
and results are shown there (on stderr, so stdout stays the model's answer).

Without a terminal to ask (stdin is not interactive) a call that needs approval is
denied, and the message says to pass ``--yes``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from chatdesk.services.tools import Approval, ApprovalRequest, Approver
from chatdesk.tools.calls import ToolCall

ANSWERS = {
    **dict.fromkeys(("o", "once", "y", "yes"), Approval.ONCE),
    **dict.fromkeys(("a", "always"), Approval.ALWAYS),
    **dict.fromkeys(("d", "deny", "n", "no"), Approval.DENY),
}
SHOWN_RESULT_CHARS = 400


def terminal_approver(
    read_line: Callable[[str], str] = input,
    out: IO[str] | None = None,
    interactive: bool | None = None,
) -> Approver:
    """Asks on the terminal: "Allow? [o]nce / [a]lways / [d]eny"."""
    stream = out or sys.stderr
    can_ask = sys.stdin.isatty() if interactive is None else interactive

    def approve(request: ApprovalRequest) -> Approval:
        where = "built-in" if request.source == "built-in" else f"MCP server {request.source}"
        print(f"\nThe model wants to run {request.tool} ({where}) with:", file=stream)
        print(request.arguments_json(), file=stream)
        if not can_ask:
            print("Denied: no terminal to ask (pass --yes to allow tool calls).", file=stream)
            return Approval.DENY
        return _ask(read_line, stream)

    return approve


def _ask(read_line: Callable[[str], str], stream: IO[str]) -> Approval:
    while True:
        try:
            answer = read_line("Allow? [o]nce / [a]lways / [d]eny: ").strip().lower()
        except EOFError:
            return Approval.DENY
        if answer in ANSWERS:
            return ANSWERS[answer]
        print("Please answer o, a or d.", file=stream)


class TerminalToolReport:
    """A ``LoopListener`` that prints visible reply text to ``text_out`` and tool activity
    (name, arguments, the start of the result) to ``info_out``."""

    def __init__(self, text_out: IO[str] | None = None, info_out: IO[str] | None = None) -> None:
        self.text_out = text_out or sys.stdout
        self.info_out = info_out or sys.stderr

    def on_text(self, text: str) -> None:
        self.text_out.write(text)
        self.text_out.flush()

    def on_tool_started(self, call: ToolCall) -> None:
        print(f"\n[tool {call.name}]", file=self.info_out)

    def on_message(self, message: dict[str, Any]) -> None:
        if message.get("role") == "tool":
            content = str(message.get("content", ""))
            shown = (
                content
                if len(content) <= SHOWN_RESULT_CHARS
                else content[:SHOWN_RESULT_CHARS] + "…"
            )
            print(f"[result] {shown}", file=self.info_out)
