"""The audit log of tool calls: one row per call, whoever approved it and however it ended.

Rows are never changed or deleted by the app (deleting a conversation keeps its calls'
records: the log answers "what ran on this machine"). Arguments are stored as the JSON
the tool received; the result or error as the text the model got (already size-capped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chatdesk.store.base import StoreBase, synchronized
from chatdesk.store.models import utc_now

AUDIT_COLUMNS = (
    "seq, started_at, conversation_id, tool, source, arguments, result, error, duration_ms, "
    "approval"
)


@dataclass(frozen=True)
class ToolAuditEntry:
    """One recorded call. ``approval``: who let it run ("asked: allowed once", "always
    allowed", "--yes", "denied"...); ``error`` is set when it failed or was refused."""

    seq: int
    started_at: str
    conversation_id: str | None
    tool: str
    source: str
    arguments: str
    result: str | None
    error: str | None
    duration_ms: float | None
    approval: str


class ToolAuditMixin(StoreBase):
    """The tool-audit half of ``Store``."""

    @synchronized
    def record_tool_call(
        self,
        *,
        tool: str,
        source: str,
        arguments: dict[str, Any],
        approval: str,
        result: str | None = None,
        error: str | None = None,
        duration_ms: float | None = None,
        conversation_id: str | None = None,
        started_at: str | None = None,
    ) -> int:
        """Add a record; returns its number."""
        cursor = self._db.execute(
            "INSERT INTO tool_audit (started_at, conversation_id, tool, source, arguments, "
            "result, error, duration_ms, approval) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                started_at or utc_now(),
                conversation_id,
                tool,
                source,
                json.dumps(arguments, ensure_ascii=False),
                result,
                error,
                duration_ms,
                approval,
            ],
        )
        return int(cursor.lastrowid or 0)

    @synchronized
    def tool_audit(
        self, limit: int = 100, conversation_id: str | None = None
    ) -> list[ToolAuditEntry]:
        """The newest records first (of one conversation, when given)."""
        where, params = (
            ("WHERE conversation_id = ?", [conversation_id]) if conversation_id else ("", [])
        )
        rows = self._rows(
            f"SELECT {AUDIT_COLUMNS} FROM tool_audit {where} ORDER BY seq DESC LIMIT ?",
            [*params, max(0, limit)],
        )
        return [ToolAuditEntry(*row) for row in rows]
