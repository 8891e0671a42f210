"""Markdown export of a conversation's active branch.

Layout: a front-matter block (``---`` lines around ``key: value`` lines whose values are
JSON, which is also valid YAML), a ``#`` title, then each message under a ``##`` role
heading. Message content goes into a fenced code block whose backtick fence is longer
than any backtick run inside, so code fences, HTML, ``---`` lines and headings in the
content render as the very same text and cannot break the document.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chatdesk.store import Conversation, Message, Store

ROLE_HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant"}
INLINE_SPECIAL = re.compile(r"([\\`*_\[\]!|~#])")  # what can start markup inside a line
HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}  # entities work in every renderer
BACKTICK_RUN = re.compile(r"`+")


def escape_inline(text: str) -> str:
    """Text that renders literally inside a Markdown paragraph or heading (one line)."""
    escaped = INLINE_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    return "".join(HTML_SPECIAL.get(char, char) for char in escaped)


def fence_for(content: str) -> str:
    """A backtick fence longer than every backtick run in ``content`` (at least three)."""
    longest = max((len(run) for run in BACKTICK_RUN.findall(content)), default=0)
    return "`" * max(3, longest + 1)


def fenced(content: str) -> str:
    """``content`` as a fenced code block that shows exactly that text."""
    fence = fence_for(content)
    body = content if content.endswith("\n") or not content else content + "\n"
    return f"{fence}\n{body}{fence}\n"


def yaml_value(value: Any) -> str:
    """A front-matter value: JSON on one line (unicode kept)."""
    return json.dumps(value, ensure_ascii=False)


def front_matter(conversation: Conversation) -> str:
    """The ``---`` block describing the conversation."""
    fields = {
        "title": conversation.title,
        "model": conversation.model,
        "system_prompt": conversation.system_prompt,
        "settings": conversation.settings,
        "created": conversation.created_at,
        "updated": conversation.updated_at,
        "id": conversation.id,
    }
    lines = [f"{key}: {yaml_value(value)}" for key, value in fields.items()]
    return "---\n" + "\n".join(lines) + "\n---\n"


def readable_time(timestamp: str) -> str:
    """``2026-11-23T09:01:57.123456Z`` -> ``2026-11-23 09:01 UTC``."""
    return f"{timestamp[:10]} {timestamp[11:16]} UTC"


def message_details(message: Message) -> str:
    """The small italic line under a reply's heading: model, time, speed, status."""
    parts = [message.model] if message.model else []
    parts.append(readable_time(message.created_at))
    if message.tokens_per_second is not None:
        parts.append(f"{message.tokens_per_second:.1f} tokens/s")
    if message.status != "complete":
        parts.append(message.status)
    return "_" + " · ".join(escape_inline(part) for part in parts) + "_\n"


def render_message(message: Message, passages: list[dict[str, Any]] | None = None) -> str:
    """One message: role heading, details line for replies, content block, its sources."""
    heading = f"## {ROLE_HEADINGS.get(message.role, escape_inline(message.role))}\n\n"
    details = message_details(message) + "\n" if message.role == "assistant" else ""
    return heading + details + fenced(message.content) + render_sources(passages or [])


def source_label(passage: dict[str, Any]) -> str:
    """``report.pdf, page 2`` or ``notes.md, lines 4-9``."""
    where = (
        f"page {passage['page']}"
        if passage["page"] is not None
        else f"lines {passage['line_start']}-{passage['line_end']}"
    )
    path = str(passage["file"])
    return f"{escape_inline(path.replace(chr(92), '/').rsplit('/', 1)[-1])}, {where}"


def render_sources(passages: list[dict[str, Any]]) -> str:
    """The numbered passages a reply was given: label, path and the quoted text."""
    if not passages:
        return ""
    parts = ["\n### Sources\n"]
    for passage in passages:
        label, path = source_label(passage), escape_inline(str(passage["file"]))
        parts.append(f"\n[{passage['number']}] {label} ({path})\n\n")
        parts.append(fenced(str(passage["text"])))
    return "".join(parts)


def render_markdown(
    conversation: Conversation,
    messages: list[Message],
    passages: dict[str, list[dict[str, Any]]] | None = None,
) -> str:
    """The Markdown document for a conversation and the branch of messages to show."""
    title = escape_inline(conversation.title) or "Untitled"
    cited = passages or {}
    parts = [front_matter(conversation), f"# {title}\n"]
    parts += [render_message(message, cited.get(message.id)) for message in messages]
    return "\n".join(parts)


def export_markdown(store: Store, cid: str) -> str:
    """Markdown of the conversation's active branch (root to active leaf)."""
    conversation, path = store.get_conversation(cid), store.active_path(cid)
    return render_markdown(conversation, path, store.conversation_passages(cid))
