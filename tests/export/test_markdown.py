"""Markdown export: snapshot, and awkward content that must render as the same text."""

from __future__ import annotations

import html
import re
from pathlib import Path

import markdown
import pytest
from markdown_it import MarkdownIt

from chatdesk.export import export_markdown
from chatdesk.export.markdown import escape_inline, fence_for
from chatdesk.store import Conversation, Store
from tests.export.conftest import NASTY_REPLY, NASTY_USER

SNAPSHOTS = Path(__file__).parent / "snapshots"


def test_matches_snapshot(store: Store, nasty: Conversation) -> None:
    expected = (SNAPSHOTS / "nasty.md").read_text(encoding="utf-8")
    assert export_markdown(store, nasty.id) == expected


def code_blocks(rendered_html: str) -> list[str]:
    blocks = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", rendered_html, flags=re.S)
    return [html.unescape(block) for block in blocks]


def test_contents_render_as_the_same_text(store: Store, nasty: Conversation) -> None:
    text = export_markdown(store, nasty.id)
    body = text.split("\n---\n", 1)[1]  # past the front matter
    rendered = markdown.markdown(body, extensions=["fenced_code"])
    assert code_blocks(rendered) == ["Be terse.\n", NASTY_USER, NASTY_REPLY + "\n", ""]
    assert "<script>" not in rendered
    assert rendered.count("<h2>") == 4  # the four role headings, no heading from content


def test_commonmark_renders_the_same_text(store: Store, nasty: Conversation) -> None:
    rendered = MarkdownIt("commonmark").render(export_markdown(store, nasty.id))
    assert code_blocks(rendered) == ["Be terse.\n", NASTY_USER, NASTY_REPLY + "\n", ""]
    assert "<script>" not in rendered
    assert "<hr />" in rendered  # the front matter's delimiters, nothing from the content
    headings = re.findall(r"<h(\d)>(.*?)</h\1>", rendered)
    assert [(level, html.unescape(text)) for level, text in headings[-5:]] == [
        ("1", nasty.title),
        ("2", "System"),
        ("2", "User"),
        ("2", "Assistant"),
        ("2", "User"),
    ]


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


@pytest.mark.parametrize(
    ("content", "fence"),
    [("", "```"), ("no ticks", "```"), ("```", "````"), ("a ````` b", "``````"), ("`x`", "```")],
)
def test_fence_is_longer_than_any_backtick_run(content: str, fence: str) -> None:
    assert fence_for(content) == fence


def test_escape_inline_flattens_lines() -> None:
    assert escape_inline("a\nb  *c*") == "a b \\*c\\*"


def test_empty_conversation(store: Store) -> None:
    conversation = store.create_conversation("")
    text = export_markdown(store, conversation.id)
    assert "# Untitled\n" in text
    assert "## " not in text
