"""Conversations: create, read, list with paging, rename, pin, change settings, delete."""

from __future__ import annotations

import enum
from typing import Any

from chatdesk.store.base import Row, StoreBase, dump_json, load_json, synchronized
from chatdesk.store.errors import InvalidValueError, NotFoundError
from chatdesk.store.models import Conversation, new_id, utc_now

CONVERSATION_COLUMNS = (
    "id, title, created_at, updated_at, model, system_prompt, settings, pinned, active_leaf_id, "
    "model_identity"
)


class Unchanged(enum.Enum):
    """Marks an argument of ``update_conversation`` that was not given."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


def conversation_from_row(row: Row) -> Conversation:
    """A Conversation from a row selected with CONVERSATION_COLUMNS."""
    cid, title, created, updated, model, prompt, settings, pinned, leaf, identity = row
    return Conversation(
        id=cid,
        title=title,
        created_at=created,
        updated_at=updated,
        model=model,
        system_prompt=prompt,
        settings=load_json(settings),
        pinned=bool(pinned),
        active_leaf_id=leaf,
        model_identity=load_json(identity),
    )


def check_title(title: str) -> str:
    """A title as stored: a string, kept verbatim."""
    if not isinstance(title, str):
        raise InvalidValueError(f"title must be a string, not {type(title).__name__}")
    return title


class ConversationsMixin(StoreBase):
    """The conversation half of ``Store``."""

    @synchronized
    def create_conversation(
        self,
        title: str = "New chat",
        model: str | None = None,
        system_prompt: str = "",
        settings: dict[str, Any] | None = None,
        model_identity: dict[str, Any] | None = None,
    ) -> Conversation:
        """Start a new, empty conversation."""
        now = utc_now()
        conversation = Conversation(
            id=new_id(),
            title=check_title(title),
            created_at=now,
            updated_at=now,
            model=model,
            system_prompt=system_prompt,
            settings=dict(settings or {}),
            model_identity=dict(model_identity or {}),
        )
        self.insert_conversation(conversation)
        return conversation

    @synchronized
    def insert_conversation(self, conversation: Conversation) -> None:
        """Store a Conversation exactly as given (ids and dates included); used by import.

        Its ``active_leaf_id`` must be None or already stored; import sets it afterwards.
        """
        c = conversation
        self._write(
            f"INSERT INTO conversations ({CONVERSATION_COLUMNS}) VALUES ({', '.join('?' * 10)})",
            [c.id, c.title, c.created_at, c.updated_at, c.model, c.system_prompt,
             dump_json(c.settings), int(c.pinned), c.active_leaf_id,
             dump_json(c.model_identity)],
        )  # fmt: skip

    @synchronized
    def get_conversation(self, cid: str) -> Conversation:
        """The conversation with this id; NotFoundError if there is none."""
        row = self._row(f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", [cid])
        if row is None:
            raise NotFoundError(f"no conversation with id {cid!r}")
        return conversation_from_row(row)

    @synchronized
    def list_conversations(self, limit: int | None = 50, offset: int = 0) -> list[Conversation]:
        """One page of conversations: pinned first, then the most recently updated."""
        rows = self._rows(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations "
            "ORDER BY pinned DESC, updated_at DESC, seq DESC LIMIT ? OFFSET ?",
            [-1 if limit is None else limit, offset],
        )
        return [conversation_from_row(row) for row in rows]

    @synchronized
    def count_conversations(self) -> int:
        """How many conversations there are."""
        row = self._row("SELECT count(*) FROM conversations")
        return int(row[0]) if row else 0

    @synchronized
    def find_conversation_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids starting with ``prefix`` (how the command line accepts short ids)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._rows(
            "SELECT id FROM conversations WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
            [escaped + "%", limit],
        )
        return [row[0] for row in rows]

    @synchronized
    def ids_exist(self, ids: list[str]) -> bool:
        """Whether any of these ids is taken by a conversation or a message (import uses it)."""
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            row = self._row(
                f"SELECT EXISTS (SELECT 1 FROM conversations WHERE id IN ({marks}))"
                f" OR EXISTS (SELECT 1 FROM messages WHERE id IN ({marks}))",
                [*chunk, *chunk],
            )
            if row and row[0]:
                return True
        return False

    @synchronized
    def rename_conversation(self, cid: str, title: str) -> None:
        """Give a conversation a new title."""
        self._update_conversation_row(cid, {"title": check_title(title)})

    @synchronized
    def set_pinned(self, cid: str, pinned: bool) -> None:
        """Pin (keep at the top of the list) or unpin a conversation."""
        self._update_conversation_row(cid, {"pinned": int(bool(pinned))})

    @synchronized
    def update_conversation(
        self,
        cid: str,
        *,
        model: str | Unchanged | None = UNCHANGED,
        system_prompt: str | Unchanged = UNCHANGED,
        settings: dict[str, Any] | Unchanged = UNCHANGED,
        model_identity: dict[str, Any] | Unchanged = UNCHANGED,
    ) -> Conversation:
        """Change only the given fields; returns the updated conversation."""
        values: dict[str, Any] = {}
        if model_identity is not UNCHANGED:
            values["model_identity"] = dump_json(model_identity)
        if model is not UNCHANGED:
            values["model"] = model
        if system_prompt is not UNCHANGED:
            values["system_prompt"] = system_prompt
        if settings is not UNCHANGED:
            values["settings"] = dump_json(settings)
        if values:
            self._update_conversation_row(cid, values)
        return self.get_conversation(cid)

    @synchronized
    def delete_conversation(self, cid: str) -> None:
        """Delete a conversation and all of its messages."""
        if not self._write("DELETE FROM conversations WHERE id = ?", [cid]):
            raise NotFoundError(f"no conversation with id {cid!r}")

    def _update_conversation_row(self, cid: str, values: dict[str, Any]) -> None:
        assignments = ", ".join(f"{column} = ?" for column in values)
        changed = self._write(
            f"UPDATE conversations SET {assignments} WHERE id = ?", [*values.values(), cid]
        )
        if not changed:
            raise NotFoundError(f"no conversation with id {cid!r}")
