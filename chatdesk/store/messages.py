"""Messages: a tree per conversation, its active branch, and in-place streaming updates.

Editing a user message or regenerating a reply never destroys anything: it appends a
sibling (a message with the same parent) that becomes the conversation's active leaf.
"""

from __future__ import annotations

import enum
import json
import math
import os
from typing import Any

from chatdesk.store.base import Row, StoreBase, dump_json, load_json, synchronized
from chatdesk.store.errors import InvalidValueError, NotFoundError
from chatdesk.store.models import ROLES, STAT_FIELDS, STATUSES, Message, new_id, utc_now
from chatdesk.store.processes import is_live_here, mark_live, process_alive

MESSAGE_COLUMNS = (
    "id, conversation_id, parent_id, role, content, status, created_at, model, settings, "
    "prompt_tokens, completion_tokens, time_to_first_token_ms, tokens_per_second, finish_reason, "
    "n_ctx, dropped_messages, error, extra, model_identity, tool_calls, tool_call_id, "
    "drafted_tokens, accepted_tokens"
)
INTEGER_STATS = ("prompt_tokens", "completion_tokens", "drafted_tokens", "accepted_tokens")
LATER_STATS = ("drafted_tokens", "accepted_tokens")  # columns added after the others (0011)
FLOAT_STATS = ("time_to_first_token_ms", "tokens_per_second")


class ParentDefault(enum.Enum):
    """Marks ``append_message``'s parent left out: the conversation's active leaf."""

    ACTIVE_LEAF = "active-leaf"


ACTIVE_LEAF = ParentDefault.ACTIVE_LEAF


def message_from_row(row: Row) -> Message:
    """A Message from a row selected with MESSAGE_COLUMNS."""
    values = list(row)
    for index in (8, 17, 18):  # settings, extra, model_identity
        values[index] = load_json(values[index])
    values[19] = load_tool_calls(values[19])
    return Message(*values)


def load_tool_calls(text: str | None) -> list[dict[str, Any]] | None:
    """Stored tool calls (a JSON list of objects) back to a list; None when there are none."""
    if not text:
        return None
    value = json.loads(text)
    return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else None


def dump_tool_calls(calls: list[dict[str, Any]] | None) -> str | None:
    """Tool calls as stored JSON text (None stays NULL); each call must be an object."""
    if calls is None:
        return None
    if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
        raise InvalidValueError("tool_calls must be a list of objects")
    return json.dumps(calls, ensure_ascii=False)


def check_role(role: str) -> str:
    """The role, if it is one of ROLES."""
    if role not in ROLES:
        raise InvalidValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def check_status(status: str) -> str:
    """The status, if it is one of STATUSES."""
    if status not in STATUSES:
        raise InvalidValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    return status


def check_content(content: str) -> str:
    """Message text: any string, kept verbatim."""
    if not isinstance(content, str):
        raise InvalidValueError(f"content must be a string, not {type(content).__name__}")
    return content


def check_stat(name: str, value: Any) -> Any:
    """One stat value, type-checked (ints for token counts, finite numbers for rates)."""
    if value is None:
        return None
    if name in INTEGER_STATS and isinstance(value, int) and not isinstance(value, bool):
        if value >= 0:
            return value
    elif name in FLOAT_STATS and isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and value >= 0:
            return float(value)
    elif name == "finish_reason" and isinstance(value, str):
        return value
    raise InvalidValueError(f"invalid value for {name}: {value!r}")


def check_count(value: Any) -> int | None:
    """A token or message count: None or a non-negative int."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise InvalidValueError(f"invalid count: {value!r}")


def check_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """A stats dict with known keys and well-typed values."""
    unknown = sorted(set(stats) - set(STAT_FIELDS))
    if unknown:
        raise InvalidValueError(f"unknown stat fields: {', '.join(unknown)}")
    return {name: check_stat(name, value) for name, value in stats.items()}


class MessagesMixin(StoreBase):
    """The message half of ``Store``."""

    @synchronized
    def append_message(
        self,
        cid: str,
        role: str,
        content: str,
        *,
        parent_id: str | ParentDefault | None = ACTIVE_LEAF,
        status: str = "complete",
        model: str | None = None,
        settings: dict[str, Any] | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        tool_call_id: str | None = None,
    ) -> Message:
        """Add a message under ``parent_id`` (default: the active leaf; None: a new root).

        The new message becomes the active leaf and the conversation's ``updated_at`` moves.
        """
        with self.transaction():
            leaf = self._active_leaf_id(cid)
            parent = leaf if parent_id is ACTIVE_LEAF else parent_id
            assert not isinstance(parent, ParentDefault)
            if parent is not None:
                self._check_belongs(parent, cid)
            message = Message(
                id=new_id(),
                conversation_id=cid,
                parent_id=parent,
                role=check_role(role),
                content=content,
                status=check_status(status),
                created_at=utc_now(),
                model=model,
                settings=dict(settings or {}),
                tool_calls=tool_calls,
                tool_call_id=tool_call_id,
            )
            self.insert_message(message)
            self._write(
                "UPDATE conversations SET active_leaf_id = ?, updated_at = ? WHERE id = ?",
                [message.id, message.created_at, cid],
            )
        return message

    @synchronized
    def insert_message(self, message: Message) -> None:
        """Store a Message exactly as given (id, parent, dates, stats); used by import."""
        m = message
        stats = check_stats({name: getattr(m, name) for name in STAT_FIELDS})
        later = [stats.pop(name) for name in LATER_STATS]
        streaming = check_status(m.status) == "streaming"
        self._write(
            f"INSERT INTO messages ({MESSAGE_COLUMNS}, writer_pid) VALUES ({', '.join('?' * 24)})",
            [m.id, m.conversation_id, m.parent_id, check_role(m.role),
             check_content(m.content), m.status, m.created_at, m.model,
             dump_json(m.settings), *stats.values(), check_count(m.n_ctx),
             check_count(m.dropped_messages), m.error, dump_json(m.extra),
             dump_json(m.model_identity), dump_tool_calls(m.tool_calls), m.tool_call_id,
             *later, os.getpid() if streaming else None],
        )  # fmt: skip
        mark_live(m.id, streaming, self)

    @synchronized
    def update_message(
        self,
        mid: str,
        *,
        content: str | None = None,
        status: str | None = None,
        stats: dict[str, Any] | None = None,
    ) -> None:
        """Change a message in place: cheap enough for every streamed chunk.

        While the status is ``streaming`` the full-text index is left alone; the message is
        indexed when its status changes to anything else.
        """
        values: dict[str, Any] = {}
        if content is not None:
            values["content"] = check_content(content)
        if status is not None:
            values["status"] = check_status(status)
            values["writer_pid"] = os.getpid() if status == "streaming" else None
        values.update(check_stats(stats or {}))
        if not values:
            self.get_message(mid)
            return
        assignments = ", ".join(f"{column} = ?" for column in values)
        sql = f"UPDATE messages SET {assignments} WHERE id = ?"
        if not self._write(sql, [*values.values(), mid]):
            raise NotFoundError(f"no message with id {mid!r}")
        if status is not None:
            mark_live(mid, status == "streaming", self)

    @synchronized
    def set_tool_calls(self, mid: str, calls: list[dict[str, Any]] | None) -> None:
        """Record the tool calls an assistant message made (None: none)."""
        if not self._write(
            "UPDATE messages SET tool_calls = ? WHERE id = ?", [dump_tool_calls(calls), mid]
        ):
            raise NotFoundError(f"no message with id {mid!r}")

    @synchronized
    def set_reply_metadata(
        self,
        mid: str,
        *,
        n_ctx: int | None = None,
        dropped_messages: int | None = None,
        error: str | None = None,
        extra: dict[str, Any] | None = None,
        model_identity: dict[str, Any] | None = None,
    ) -> None:
        """Record how a reply's prompt fitted, why it failed, feature data and its model."""
        values = [check_count(n_ctx), check_count(dropped_messages), error, dump_json(extra)]
        sql = "UPDATE messages SET n_ctx = ?, dropped_messages = ?, error = ?, extra = ?"
        if model_identity is not None:
            sql += ", model_identity = ?"
            values.append(dump_json(model_identity))
        if not self._write(f"{sql} WHERE id = ?", [*values, mid]):
            raise NotFoundError(f"no message with id {mid!r}")

    @synchronized
    def get_message(self, mid: str) -> Message:
        """The message with this id; NotFoundError if there is none."""
        row = self._row(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", [mid])
        if row is None:
            raise NotFoundError(f"no message with id {mid!r}")
        return message_from_row(row)

    @synchronized
    def messages(self, cid: str) -> list[Message]:
        """Every message of a conversation (the whole tree), in creation order."""
        self._active_leaf_id(cid)
        rows = self._rows(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? "
            "ORDER BY created_at, seq",
            [cid],
        )
        return [message_from_row(row) for row in rows]

    @synchronized
    def count_messages(self, cid: str | None = None) -> int:
        """How many messages one conversation (or, with None, the whole store) holds."""
        if cid is None:
            row = self._row("SELECT count(*) FROM messages")
        else:
            row = self._row("SELECT count(*) FROM messages WHERE conversation_id = ?", [cid])
        return int(row[0]) if row else 0

    @synchronized
    def active_path(self, cid: str) -> list[Message]:
        """The shown branch: root -> active leaf (empty for an empty conversation)."""
        leaf = self._active_leaf_id(cid)
        return [] if leaf is None else self.path_to(leaf)

    @synchronized
    def path_to(self, mid: str) -> list[Message]:
        """The messages from the root of ``mid``'s tree down to ``mid`` itself."""
        rows = self._rows(
            "WITH RECURSIVE path (id, depth) AS ("
            " SELECT ?, 0"
            " UNION ALL SELECT m.parent_id, path.depth + 1 FROM messages AS m"
            " JOIN path ON m.id = path.id WHERE m.parent_id IS NOT NULL)"
            f" SELECT {prefixed('m.', MESSAGE_COLUMNS)} FROM path"
            " JOIN messages AS m ON m.id = path.id ORDER BY path.depth DESC",
            [mid],
        )
        if not rows:
            raise NotFoundError(f"no message with id {mid!r}")
        return [message_from_row(row) for row in rows]

    @synchronized
    def children(self, mid: str) -> list[Message]:
        """The direct replies to ``mid`` (its branches), oldest first."""
        self.get_message(mid)
        rows = self._rows(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE parent_id = ? ORDER BY created_at, seq",
            [mid],
        )
        return [message_from_row(row) for row in rows]

    @synchronized
    def siblings(self, mid: str) -> list[Message]:
        """The alternatives at ``mid``'s place in the tree, itself included, oldest first."""
        message = self.get_message(mid)
        if message.parent_id is not None:
            return self.children(message.parent_id)
        rows = self._rows(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? "
            "AND parent_id IS NULL ORDER BY created_at, seq",
            [message.conversation_id],
        )
        return [message_from_row(row) for row in rows]

    @synchronized
    def newest_leaf(self, mid: str) -> str:
        """The leaf reached from ``mid`` by always following its newest reply."""
        self.get_message(mid)
        current = mid
        while True:
            row = self._row(
                "SELECT id FROM messages WHERE parent_id = ? "
                "ORDER BY created_at DESC, seq DESC LIMIT 1",
                [current],
            )
            if row is None:
                return current
            current = row[0]

    @synchronized
    def set_active_leaf(self, cid: str, mid: str) -> str:
        """Show the branch through ``mid`` (down to its newest leaf); returns that leaf's id."""
        self._check_belongs(mid, cid)
        leaf = self.newest_leaf(mid)
        self._write("UPDATE conversations SET active_leaf_id = ? WHERE id = ?", [leaf, cid])
        return leaf

    @synchronized
    def delete_message(self, mid: str) -> None:
        """Delete a message with every reply below it; the active branch moves if it was cut."""
        message = self.get_message(mid)
        cid = message.conversation_id
        with self.transaction():
            self._write("DELETE FROM messages WHERE id = ?", [mid])
            if self._active_leaf_id(cid) is None:
                self._activate_fallback(cid, message.parent_id)

    @synchronized
    def recover_interrupted(self) -> int:
        """Mark replies left ``streaming`` by a process that is gone as ``interrupted``;
        returns how many. Every Store does this when it opens (window and commands alike);
        a reply another running process is still writing is left alone."""
        rows = self._rows("SELECT id, writer_pid FROM messages WHERE status = 'streaming'")
        gone = [mid for mid, pid in rows if not writer_alive(mid, pid)]
        for mid in gone:
            self._write(
                "UPDATE messages SET status = 'interrupted', writer_pid = NULL "
                "WHERE id = ? AND status = 'streaming'",
                [mid],
            )
        return len(gone)

    def _activate_fallback(self, cid: str, parent_id: str | None) -> None:
        """After a delete, show the parent's newest branch, else the newest root's."""
        start = parent_id
        if start is None:
            row = self._row(
                "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS NULL "
                "ORDER BY created_at DESC, seq DESC LIMIT 1",
                [cid],
            )
            start = None if row is None else row[0]
        leaf = None if start is None else self.newest_leaf(start)
        self._write("UPDATE conversations SET active_leaf_id = ? WHERE id = ?", [leaf, cid])

    def _active_leaf_id(self, cid: str) -> str | None:
        row = self._row("SELECT active_leaf_id FROM conversations WHERE id = ?", [cid])
        if row is None:
            raise NotFoundError(f"no conversation with id {cid!r}")
        leaf: str | None = row[0]
        return leaf

    def _check_belongs(self, mid: str, cid: str) -> None:
        row = self._row("SELECT conversation_id FROM messages WHERE id = ?", [mid])
        if row is None:
            raise NotFoundError(f"no message with id {mid!r}")
        if row[0] != cid:
            raise InvalidValueError(f"message {mid!r} belongs to another conversation")


def writer_alive(mid: str, pid: int | None) -> bool:
    """Whether the process that writes a streaming reply still runs (NULL: written before
    ChatDesk recorded writers, so long gone)."""
    if pid is None:
        return False
    if pid == os.getpid():
        return is_live_here(mid)
    return process_alive(pid)


def prefixed(prefix: str, columns: str) -> str:
    """``a, b`` -> ``m.a, m.b``."""
    return ", ".join(prefix + column.strip() for column in columns.split(","))
