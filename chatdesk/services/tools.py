"""Tools, one implementation for window, CLI and chat turns: what exists, what is allowed,
asking the user, running, and recording.

``ToolsService`` knows the built-in tools and the MCP servers of ``mcp.json`` in the data
root. MCP tools are offered to the model as ``<server>__<tool>`` (letters, digits, ``_``
and ``-`` only), so names never collide. A tool is offered when it is enabled (built-in:
the ``tools.disabled`` setting; MCP: the server's ``disabled``/``disabledTools`` in
mcp.json) and its policy is not "deny".

Policy per tool (setting ``tools.policy``): "ask" (the default), "allow", "deny". Before an
"ask" tool runs, the ``approve`` callback gets an ``ApprovalRequest`` (tool, server,
arguments) and answers ONCE, ALWAYS (the policy becomes "allow") or DENY; without a
callback the call is denied. A caller may pass ``approved_by`` instead (``--yes``, or a
user running a tool directly), which is recorded as who approved.

Every call, allowed or not, is written to the audit log with its arguments, result or
error, duration and approval. Tool output is untrusted text: capped at
``MAX_RESULT_CHARS`` and never interpreted. Nothing a tool does raises into the caller.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chatdesk import paths
from chatdesk.store import Store
from chatdesk.store.tool_audit import ToolAuditEntry
from chatdesk.tools.base import BUILT_IN, Tool, ToolOutcome, ToolSpec
from chatdesk.tools.builtins import builtin_tools
from chatdesk.tools.calls import ToolCall
from chatdesk.tools.mcp_servers import (
    CONFIG_NAME,
    McpError,
    McpServer,
    load_config,
    save_switches,
    stop_calls,
)
from chatdesk.tools.sandbox import SandboxLimits, stop_all

POLICIES = ("ask", "allow", "deny")
DEFAULT_POLICY = "ask"
POLICY_KEY = "tools.policy"
DISABLED_KEY = "tools.disabled"
MAX_STEPS_KEY = "tools.max_steps"
IN_CHAT_KEY = "tools.in_chat"
DEFAULT_MAX_STEPS = 8
MAX_STEPS_RANGE = (1, 50)
MAX_RESULT_CHARS = 20_000
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")

log = logging.getLogger("chatdesk.tools")


class ToolsError(ValueError):
    """A request the tools service refuses (unknown tool, bad policy), as one line."""


class Approval(enum.Enum):
    """The user's answer to an approval request."""

    ONCE = "allowed once"
    ALWAYS = "always allowed"
    DENY = "denied"


@dataclass(frozen=True)
class ApprovalRequest:
    """What the user is asked about: which tool of which server, with which arguments."""

    tool: str
    source: str
    arguments: dict[str, Any]
    conversation_id: str | None = None

    def arguments_json(self) -> str:
        """The arguments as formatted JSON, for showing."""
        return json.dumps(self.arguments, indent=2, ensure_ascii=False, sort_keys=True)


Approver = Callable[[ApprovalRequest], Approval]


@dataclass(frozen=True)
class ToolEntry:
    """A tool as listed: its spec, the name the model uses, switches and policy."""

    spec: ToolSpec
    name: str
    enabled: bool
    policy: str


@dataclass(frozen=True)
class ServerStatus:
    """An MCP server as listed: its tools, or the error that stopped listing them."""

    name: str
    transport: str
    enabled: bool
    tools: tuple[ToolSpec, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ToolRun:
    """One call's end: what the model gets back (``outcome.text``) and how it went."""

    call: ToolCall
    outcome: ToolOutcome
    approval: str
    duration_ms: float | None


def exposed_name(spec: ToolSpec) -> str:
    """The name the model calls a tool by."""
    if spec.source == BUILT_IN:
        return spec.name
    return f"{_UNSAFE_NAME.sub('_', spec.source)}__{_UNSAFE_NAME.sub('_', spec.name)}"


def cap_text(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """Untrusted output cut to ``limit`` characters, saying so."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[output cut at {limit:,} of {len(text):,} characters]"


class _McpTool:
    """An MCP server's tool, run through its server."""

    def __init__(self, server: McpServer, spec: ToolSpec) -> None:
        self.server, self.spec = server, spec

    def run(self, arguments: dict[str, Any]) -> ToolOutcome:
        try:
            return self.server.call_tool(self.spec.name, arguments)
        except McpError as error:
            return ToolOutcome.error(str(error))


class ToolsService:
    """Built-in and MCP tools over one store."""

    def __init__(
        self, store: Store, config_path: Path | None = None, limits: SandboxLimits | None = None
    ) -> None:
        self.store = store
        self.config_path = config_path or paths.data_root() / CONFIG_NAME
        self._builtins = {t.spec.name: t for t in builtin_tools(store.search, limits)}
        self._servers: list[ServerStatus] | None = None

    # --- what exists -------------------------------------------------------------------
    def servers(self, refresh: bool = False) -> list[ServerStatus]:
        """The configured MCP servers and their tools (listed once, then remembered)."""
        if self._servers is None or refresh:
            self._servers = [self._status(s) for s in self._configs()]
        return self._servers

    def tools(self, refresh: bool = False) -> list[ToolEntry]:
        """Every tool, built-in first, with the name the model uses, switch and policy."""
        disabled = set(self.store.get_setting(DISABLED_KEY, []) or [])
        entries = [
            self._entry(t.spec, t.spec.name not in disabled) for t in self._builtins.values()
        ]
        for server in self.servers(refresh):
            off = self._server_config(server.name).disabled_tools
            entries += [self._entry(s, server.enabled and s.name not in off) for s in server.tools]
        return entries

    def schemas(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        """The ``tools`` list for the chat template: enabled, not denied, and among
        ``names`` when given (unknown names are a ToolsError)."""
        entries = {e.name: e for e in self.tools()}
        unknown = sorted(set(names or []) - set(entries))
        if unknown:
            raise ToolsError(f"unknown tool: {', '.join(unknown)} (see `chatdesk tools list`)")
        chosen = [entries[n] for n in names] if names is not None else list(entries.values())
        return [
            e.spec.schema() | {"function": {**e.spec.schema()["function"], "name": e.name}}
            for e in chosen
            if e.enabled and e.policy != "deny"
        ]

    # --- switches and policy -----------------------------------------------------------
    def policy(self, name: str) -> str:
        value = (self.store.get_setting(POLICY_KEY, {}) or {}).get(name, DEFAULT_POLICY)
        return value if value in POLICIES else DEFAULT_POLICY

    def set_policy(self, name: str, policy: str) -> None:
        if policy not in POLICIES:
            raise ToolsError(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
        policies = dict(self.store.get_setting(POLICY_KEY, {}) or {})
        policies[name] = policy
        self.store.set_setting(POLICY_KEY, policies)

    def offered_in_chat(self) -> bool:
        """Whether the window offers the tools to the model in its chats (default off)."""
        return self.store.get_setting(IN_CHAT_KEY, False) is True

    def set_offered_in_chat(self, offered: bool) -> None:
        self.store.set_setting(IN_CHAT_KEY, bool(offered))

    def max_steps(self) -> int:
        """How many model steps one reply may take with tools (the setting, bounded)."""
        value = self.store.get_setting(MAX_STEPS_KEY, DEFAULT_MAX_STEPS)
        low, high = MAX_STEPS_RANGE
        return min(high, max(low, value)) if isinstance(value, int) else DEFAULT_MAX_STEPS

    def set_max_steps(self, steps: int) -> None:
        low, high = MAX_STEPS_RANGE
        if isinstance(steps, bool) or not isinstance(steps, int) or not low <= steps <= high:
            raise ToolsError(f"the step limit must be a whole number from {low} to {high}")
        self.store.set_setting(MAX_STEPS_KEY, steps)

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Switch a tool (by the name the model uses) on or off."""
        entry = self._find(name)
        if entry.spec.source == BUILT_IN:
            disabled = set(self.store.get_setting(DISABLED_KEY, []) or [])
            disabled = disabled - {name} if enabled else disabled | {name}
            self.store.set_setting(DISABLED_KEY, sorted(disabled))
            return
        config = self._server_config(entry.spec.source)
        off = set(config.disabled_tools)
        off = off - {entry.spec.name} if enabled else off | {entry.spec.name}
        save_switches(self.config_path, config.name, disabled_tools=off)

    def set_server_enabled(self, server: str, enabled: bool) -> None:
        self._server_config(server)
        save_switches(self.config_path, server, disabled=not enabled)
        self._servers = None

    # --- running -----------------------------------------------------------------------
    def run(
        self,
        call: ToolCall,
        *,
        conversation_id: str | None = None,
        approve: Approver | None = None,
        approved_by: str | None = None,
        offered: Collection[str] | None = None,
        started: Callable[[], None] | None = None,
    ) -> ToolRun:
        """Ask (per policy), run and record one call; never raises. The run time recorded
        starts after the approval (time spent in the dialog is not the tool's), when
        ``started`` is told.

        ``offered``: the names a chat turn offered the model; a call to any other tool is
        refused, whatever is enabled (None: a user running a tool directly)."""
        try:
            entry = self._find(call.name, offered)
            tool = self._tool(entry)
        except ToolsError as error:
            return self._refuse(call, str(error), "not run", conversation_id)
        call = replace(call, name=entry.name)  # as the model meant it
        if call.error:
            return self._refuse(
                call,
                f"the tool call could not be read: {call.error}",
                "not run",
                conversation_id,
                tool.spec.source,
            )
        approval = self._approval(
            call, tool.spec, conversation_id, approve=approve, approved_by=approved_by
        )
        if approval is None:
            return self._refuse(
                call, "the user denied this tool call", "denied", conversation_id, tool.spec.source
            )
        if started is not None:
            started()
        began = time.monotonic()
        outcome = _run_guarded(tool, call.arguments)
        outcome = ToolOutcome(cap_text(outcome.text), outcome.is_error, outcome.details)
        elapsed = (time.monotonic() - began) * 1000
        self._record(
            call, tool.spec.source, outcome, approval, elapsed, conversation_id=conversation_id
        )
        return ToolRun(call, outcome, approval, elapsed)

    def _approval(
        self,
        call: ToolCall,
        spec: ToolSpec,
        conversation_id: str | None,
        *,
        approve: Approver | None,
        approved_by: str | None,
    ) -> str | None:
        policy = self.policy(call.name)
        if policy == "deny":
            return None
        if policy == "allow":
            return Approval.ALWAYS.value
        if approved_by:
            return approved_by
        if approve is None:
            return None
        answer = approve(ApprovalRequest(call.name, spec.source, call.arguments, conversation_id))
        if answer is Approval.ALWAYS:
            self.set_policy(call.name, "allow")
        return None if answer is Approval.DENY else answer.value

    def _refuse(
        self,
        call: ToolCall,
        reason: str,
        approval: str,
        conversation_id: str | None,
        source: str = "unknown",
    ) -> ToolRun:
        outcome = ToolOutcome.error(reason)
        self._record(call, source, outcome, approval, None, conversation_id=conversation_id)
        return ToolRun(call, outcome, approval, None)

    def _record(
        self,
        call: ToolCall,
        source: str,
        outcome: ToolOutcome,
        approval: str,
        elapsed: float | None,
        *,
        conversation_id: str | None,
    ) -> None:
        took = "not run" if elapsed is None else f"{elapsed:.0f} ms"
        log.info(
            "tool %s (%s): conversation %s, %s, %s, %s",
            call.name or "(unnamed)", source, conversation_id or "none", approval,
            "error" if outcome.is_error else "ok", took,
        )  # fmt: skip
        self.store.record_tool_call(
            tool=call.name or "(unnamed)",
            source=source,
            arguments=call.arguments,
            approval=approval,
            result=None if outcome.is_error else outcome.text,
            error=outcome.text if outcome.is_error else None,
            duration_ms=elapsed,
            conversation_id=conversation_id,
        )

    def audit_log(self, limit: int = 100) -> list[ToolAuditEntry]:
        """The newest recorded calls first."""
        return self.store.tool_audit(limit)

    def stop_running(self) -> None:
        """Stop pressed: kill the python tool's runs in progress and cancel the MCP calls
        in flight (their results say so)."""
        stop_all()
        stop_calls()

    # --- lookups -----------------------------------------------------------------------
    def _tool(self, entry: ToolEntry) -> Tool:
        if not entry.enabled:
            raise ToolsError(f"the tool {entry.name!r} is switched off")
        if entry.spec.source == BUILT_IN:
            return self._builtins[entry.spec.name]
        return _McpTool(McpServer(self._server_config(entry.spec.source)), entry.spec)

    def _find(self, name: str, offered: Collection[str] | None = None) -> ToolEntry:
        """The tool the model meant: its exact name, else the one name that differs only in
        case (``Python`` -> ``python``), among the ``offered`` ones when given. The error
        lists the names it may call, for the model."""
        everything = self.tools()
        entries = [e for e in everything if offered is None or e.name in offered]
        exact = [e for e in entries if e.name == name]
        folded = [e for e in entries if e.name.casefold() == name.casefold()]
        if exact or len(folded) == 1:
            return (exact or folded)[0]
        names = ", ".join(e.name for e in entries if e.enabled) or "none"
        if any(e.name.casefold() == name.casefold() for e in everything if e not in entries):
            raise ToolsError(
                f"the tool {name!r} is not offered in this chat (it may call: {names})"
            )
        raise ToolsError(f"unknown tool {name!r} (the tools are: {names})")

    def _entry(self, spec: ToolSpec, enabled: bool) -> ToolEntry:
        name = exposed_name(spec)
        return ToolEntry(spec, name, enabled, self.policy(name))

    def _configs(self) -> list[Any]:
        try:
            return load_config(self.config_path)
        except McpError:
            return []

    def config_error(self) -> str | None:
        """The problem with mcp.json, when it has one."""
        try:
            load_config(self.config_path)
        except McpError as error:
            return str(error)
        return None

    def _server_config(self, name: str) -> Any:
        for config in self._configs():
            if config.name == name:
                return config
        raise ToolsError(f"no MCP server named {name!r} in {self.config_path}")

    def _status(self, config: Any) -> ServerStatus:
        if config.disabled:
            return ServerStatus(config.name, config.transport, False)
        try:
            specs = McpServer(config).list_tools()
        except McpError as error:
            return ServerStatus(config.name, config.transport, True, (), str(error))
        return ServerStatus(config.name, config.transport, True, tuple(specs))


def _run_guarded(tool: Tool, arguments: dict[str, Any]) -> ToolOutcome:
    try:
        return tool.run(arguments)
    except Exception as error:  # a tool's own bug must not reach the caller
        return ToolOutcome.error(f"the tool failed: {type(error).__name__}: {error}")
