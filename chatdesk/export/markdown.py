"""Markdown export of a conversation's active branch, reading like the chat.

Layout: a front-matter block (``---`` lines around ``key: value`` lines whose values are
JSON, which is also valid YAML), a ``#`` title, then each message under a ``##`` role
heading. A message's own Markdown stays Markdown (tables, lists, code, emphasis render as
in the chat); only what would break the document around it is neutralised, line by line
outside code fences (see ``neutralise``):

- a code fence left open is closed, so the next heading is not swallowed as code;
- headings move two levels down (``#`` becomes ``###``), so they never collide with the
  title or the role headings;
- a ``---`` or ``===`` line right under text gets a blank line first: it stays a rule (or
  text) instead of turning the line above into a heading (front-matter-like blocks too);
- raw HTML tags are escaped (they show as text, never run), outside inline code;
- single line breaks become hard breaks, as the chat shows them.

Model names are file names only: a local model's full path (user name, folders) never goes
into a shared file. The JSON export is the lossless format.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from chatdesk.export.wording import shared_model_name
from chatdesk.markdown_fences import FENCE, closes, fence_marker
from chatdesk.store import Conversation, Message, Store

ROLE_HEADINGS = {
    "system": "System",
    "user": "User",
    "assistant": "Assistant",
    "tool": "Tool result",
}
INLINE_SPECIAL = re.compile(r"([\\`*_\[\]!|~#])")  # what can start markup inside a line
HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}  # entities work in every renderer
ATX_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
HTML_TAG = re.compile(r"<(?=[A-Za-z/!?])")
CODE_SPAN = re.compile(r"(`+).*?(?<!`)\1(?!`)")
BACKTICK_RUN = re.compile(r"`+")
HEADING_SHIFT = 2  # message headings start at ### under the ## role headings


def neutralise(content: str) -> str:
    """A message's Markdown with only what would break the document made safe."""
    lines: list[tuple[str, bool]] = []  # (text, inside a code fence)
    opener: str | None = None
    for line in content.rstrip("\n").split("\n"):
        match = FENCE.match(line)
        if opener is not None or match:
            closing = opener is not None and match is not None and closes(opener, match[1], line)
            opener = None if closing else (opener or line.strip())
            lines.append((line, True))
        else:
            previous = lines[-1][0] if lines and not lines[-1][1] else ""
            lines.extend((text, False) for text in safe_line(line, previous))
    if opener is not None:
        lines.append((fence_marker(opener), True))  # an unclosed fence is closed
    return "\n".join(with_breaks(lines))


def safe_line(line: str, previous: str) -> list[str]:
    """One line outside code: demoted heading, detached underline, escaped tags."""
    if SETEXT_UNDERLINE.match(line) and previous.strip() and not FENCE.match(previous):
        return ["", line]
    heading = ATX_HEADING.match(line)
    if heading:
        level = min(6, len(heading[2]) + HEADING_SHIFT)
        line = heading[1] + "#" * level + line[heading.end() :]
    return [escape_tags(line)]


def escape_tags(line: str) -> str:
    """``<tag`` becomes ``&lt;tag`` outside inline code spans."""
    parts, start = [], 0
    for span in CODE_SPAN.finditer(line):
        parts += [HTML_TAG.sub("&lt;", line[start : span.start()]), span[0]]
        start = span.end()
    return "".join([*parts, HTML_TAG.sub("&lt;", line[start:])])


def with_breaks(lines: list[tuple[str, bool]]) -> list[str]:
    """End each text line that another text line follows with two spaces: a line break,
    as the chat shows it (code, blank lines and indented code are left alone)."""
    out = []
    for (text, code), (following, following_code) in zip(
        lines, [*lines[1:], ("", True)], strict=True
    ):
        prose = not code and text.strip() and not text.startswith(("    ", "\t"))
        prose = prose and not SETEXT_UNDERLINE.match(text) and not ATX_HEADING.match(text)
        broken = prose and not following_code and following.strip()
        out.append(text.rstrip() + "  " if broken else text)
    return out


def escape_inline(text: str) -> str:
    """Text that renders literally inside a Markdown paragraph or heading (one line)."""
    escaped = INLINE_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    return "".join(HTML_SPECIAL.get(char, char) for char in escaped)


def fence_for(content: str) -> str:
    """A backtick fence longer than every backtick run in ``content`` (at least three)."""
    longest = max((len(run) for run in BACKTICK_RUN.findall(content)), default=0)
    return "`" * max(3, longest + 1)


def fenced(content: str) -> str:
    """``content`` as a fenced code block that shows exactly that text (tool output and
    tool-call arguments: raw text, never Markdown)."""
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
        "model": shared_model_name(conversation.model),
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
    parts = [shared_model_name(message.model)] if message.model else []
    parts.append(readable_time(message.created_at))
    if message.tokens_per_second is not None:
        parts.append(f"{message.tokens_per_second:.1f} tokens/s")
    if message.status != "complete":
        parts.append(message.status)
    return "_" + " · ".join(escape_inline(part) for part in parts) + "_\n"


def render_message(message: Message, passages: list[dict[str, Any]] | None = None) -> str:
    """One message: role heading, details line for replies, a reply's reasoning (fenced), its
    neutralised Markdown, then an assistant's tool calls (name and arguments as JSON, each in
    its own block) and the document passages a reply was given."""
    heading = f"## {ROLE_HEADINGS.get(message.role, escape_inline(message.role))}\n\n"
    details = message_details(message) + "\n" if message.role == "assistant" else ""
    if message.tool_call_id:
        details = f"_call {escape_inline(message.tool_call_id)}_\n\n"
    if message.role == "tool":  # tool output is raw text, never Markdown
        body = fenced(message.content).strip("\n") if message.content else ""
    else:
        body = neutralise(message.content).strip("\n")
    calls = "".join(render_tool_call(c) for c in message.tool_calls or [])
    sources = render_sources(passages or [])
    thinking = render_reasoning(str((message.extra or {}).get("reasoning") or ""))
    return heading + details + thinking + (body + "\n" if body else "") + calls + sources


def render_reasoning(reasoning: str) -> str:
    """A reply's reasoning (parsed out of it, kept in its extra) before the answer, as the
    raw text it is, fenced (never read as Markdown)."""
    return f"**Reasoning**\n\n{fenced(reasoning)}\n" if reasoning.strip() else ""


def tool_call_parts(call: dict[str, Any], indent: int | None = 2) -> tuple[str, str, str]:
    """A stored tool call as (name, call id, arguments as JSON text); arguments that are
    not JSON are shown as the text they are."""
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments)
    text = json.dumps(arguments, ensure_ascii=False, indent=indent)
    return str(function.get("name", "?")), str(call.get("id", "")), text


def render_tool_call(call: dict[str, Any]) -> str:
    """``**Tool call** name (call id)`` and the arguments as indented JSON, fenced."""
    name, call_id, text = tool_call_parts(call)
    heading = f"**Tool call** {escape_inline(name)} _(call {escape_inline(call_id)})_"
    return f"\n{heading}\n\n" + fenced(text)


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
    """The numbered passages a reply was given: label, path and the text as a quote."""
    if not passages:
        return ""
    parts = ["\n### Sources\n"]
    for passage in passages:
        label, path = source_label(passage), escape_inline(str(passage["file"]))
        parts.append(f"\n[{passage['number']}] {label} ({path})\n\n")
        quoted = neutralise(str(passage["text"])).strip("\n").split("\n")
        parts.append("".join(f"> {line}\n" if line else ">\n" for line in quoted))
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
