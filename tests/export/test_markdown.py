"""Markdown export: snapshot, and awkward content that must render as the same text."""

from __future__ import annotations

import html
import re
from pathlib import Path

import markdown
import pytest
from markdown_it import MarkdownIt

from chatdesk.export import export_json, export_markdown
from chatdesk.export.markdown import escape_inline
from chatdesk.store import Conversation, Store

SNAPSHOTS = Path(__file__).parent / "snapshots"


def test_matches_snapshot(store: Store, nasty: Conversation) -> None:
    expected = (SNAPSHOTS / "nasty.md").read_text(encoding="utf-8")
    assert export_markdown(store, nasty.id) == expected


def code_blocks(rendered_html: str) -> list[str]:
    blocks = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", rendered_html, flags=re.S)
    return [html.unescape(block) for block in blocks]


def headings(rendered_html: str) -> list[tuple[str, str]]:
    found = re.findall(r"<h(\d)>(.*?)</h\1>", rendered_html)
    return [(level, html.unescape(text)) for level, text in found]


def render(text: str) -> str:
    """CommonMark with raw HTML allowed (as most viewers do), front matter skipped."""
    return MarkdownIt("commonmark", {"html": True}).render(text.split("\n---\n", 1)[1])


def test_commonmark_keeps_the_reply_markdown_and_the_document_whole(
    store: Store, nasty: Conversation
) -> None:
    rendered = render(export_markdown(store, nasty.id))
    assert headings(rendered) == [
        ("1", nasty.title),
        ("2", "System"),
        ("2", "User"),
        ("3", "A heading inside"),  # the user's "# A heading inside", two levels down
        ("2", "Assistant"),
        ("2", "User"),
    ]
    assert code_blocks(rendered) == [
        'print("three backticks")\n',
        "tildes\n",
        "indented code\n",
        "```js\nlet x = `template`;\n```\n",
    ]
    assert "<script>" not in rendered
    assert "&lt;script&gt;" in rendered
    assert "<li>not a list item?</li>" in rendered  # the reply's list is a list


def test_python_markdown_agrees(store: Store, nasty: Conversation) -> None:
    body = export_markdown(store, nasty.id).split("\n---\n", 1)[1]
    rendered = markdown.markdown(body, extensions=["fenced_code"])
    assert rendered.count("<h2>") == 4
    assert "<script>" not in rendered


REPLY_WITH_TABLE = """Here are the capitals:

| Country | Capital |
|---------|---------|
| France  | Paris   |

1. **first**
2. second

Done."""


def one_reply(store: Store, reply: str, model: str = "smollm2.gguf") -> str:
    conversation = store.create_conversation("Capitals")
    store.append_message(conversation.id, "user", "Capitals?")
    store.append_message(conversation.id, "assistant", reply, model=model)
    return export_markdown(store, conversation.id)


def test_a_reply_table_list_and_emphasis_render_as_markdown(store: Store) -> None:
    rendered = MarkdownIt("commonmark").enable("table").render(one_reply(store, REPLY_WITH_TABLE))
    assert "<td>Paris</td>" in rendered
    assert "<strong>first</strong>" in rendered
    assert "<pre>" not in rendered  # no message is wrapped in a code block any more


@pytest.mark.parametrize(
    "reply",
    [
        "Start:\n```python\nprint(1)\n",  # a fence the model never closed
        "~~~~\nopen tildes",
        "Title\n---\nmore",  # a setext heading would collide with the role headings
        "---\ntitle: front matter\n---",
        "## User\nI am not the user",
        "# Assistant",
        "<h2>raw</h2>\n<!-- unclosed comment",
    ],
)
def test_what_would_break_the_document_is_neutralised(store: Store, reply: str) -> None:
    text = one_reply(store, reply) + "\n## After\n"
    rendered = render(text)
    assert [h for h in headings(rendered) if h[0] in "12"] == [
        ("1", "Capitals"),
        ("2", "User"),
        ("2", "Assistant"),
        ("2", "After"),
    ]
    assert "<h2>raw</h2>" not in rendered


def test_unclosed_fence_is_closed_and_keeps_its_code(store: Store) -> None:
    rendered = render(one_reply(store, "Start:\n```python\nprint(1)\n"))
    assert code_blocks(rendered) == ["print(1)\n"]


def test_line_breaks_show_as_in_the_chat(store: Store) -> None:
    rendered = render(one_reply(store, "roses are red\nviolets are blue"))
    assert "roses are red<br />\nviolets are blue" in rendered


def test_no_full_local_model_path_in_shared_exports(store: Store) -> None:
    path = "/home/alice/private/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    conversation = store.create_conversation("Private", model=path)
    store.append_message(conversation.id, "user", "hi")
    store.append_message(conversation.id, "assistant", "hello", model=path)
    for text in (export_markdown(store, conversation.id), export_json(store, [conversation.id])):
        assert "alice" not in text
        assert "SmolLM2-135M-Instruct.Q4_1.gguf" in text


def test_only_the_active_branch_is_exported(store: Store, nasty: Conversation) -> None:
    text = export_markdown(store, nasty.id)
    assert "first draft, discarded" not in text
    store.set_active_leaf(nasty.id, "m3")
    assert "first draft, discarded" in export_markdown(store, nasty.id)


def test_front_matter_holds_the_settings(store: Store, nasty: Conversation) -> None:
    front = export_markdown(store, nasty.id).split("\n---\n", 1)[0]
    assert front.startswith("---\n")
    assert 'system_prompt: "You are \\"careful\\".\\n---\\nNever lie."' in front
    assert (
        'settings: {"temperature": 0.7, "top_p": 0.95, "stop": ["</s>"], "note": "ünï ☕"}' in front
    )
    assert 'created: "2026-01-02T03:04:05.000006Z"' in front


def test_title_heading_renders_literally(store: Store, nasty: Conversation) -> None:
    text = export_markdown(store, nasty.id)
    heading = next(line for line in text.splitlines() if line.startswith("# "))
    rendered = markdown.markdown(heading)
    assert html.unescape(re.sub(r"</?h1>", "", rendered)) == nasty.title


def test_escape_inline_flattens_lines() -> None:
    assert escape_inline("a\nb  *c*") == "a b \\*c\\*"


def test_empty_conversation(store: Store) -> None:
    conversation = store.create_conversation("")
    text = export_markdown(store, conversation.id)
    assert "# Untitled\n" in text
    assert "## " not in text
