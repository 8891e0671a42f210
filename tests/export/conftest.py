"""Fixtures for export tests: a store, and a conversation full of awkward content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.store import Conversation, Message, Store

NASTY_USER = """Here is my README, please review:
---
title: fake front matter
---
# A heading inside
<script>alert("hi")</script> & <b>bold</b> &amp; entity
```python
print("three backticks")
```
~~~
tildes
~~~
    indented code
"""

NASTY_REPLY = """Sure. Nested fences:
````markdown
```js
let x = `template`;
```
````
A run of five: ````` and trailing spaces{SPACES}
---
* not a list item?
1. nor this
> quote
\\*escaped\\* | table | row |""".replace("{SPACES}", "   ")


def nasty_conversation(store: Store) -> Conversation:
    """A fixed conversation (ids and dates fixed, so exports are stable snapshots)."""
    conversation = Conversation(
        id="c0ffee00000000000000000000000001",
        title="Review: <README> & `code` # 1/2 *draft*",
        created_at="2026-01-02T03:04:05.000006Z",
        updated_at="2026-01-02T03:10:00.000000Z",
        model="qwen2.5-0.5b-instruct-q4_k_m",
        system_prompt='You are "careful".\n---\nNever lie.',
        settings={"temperature": 0.7, "top_p": 0.95, "stop": ["</s>"], "note": "ünï ☕"},
        pinned=True,
    )
    store.insert_conversation(conversation)
    messages = [
        Message("m1", conversation.id, None, "system", "Be terse.", "complete",
                "2026-01-02T03:04:06.000000Z"),
        Message("m2", conversation.id, "m1", "user", NASTY_USER, "complete",
                "2026-01-02T03:05:00.000000Z"),
        Message("m3", conversation.id, "m2", "assistant", "first draft, discarded", "complete",
                "2026-01-02T03:06:00.000000Z", model="old-model"),
        Message("m4", conversation.id, "m2", "assistant", NASTY_REPLY, "interrupted",
                "2026-01-02T03:07:00.000000Z", model="qwen2.5-0.5b-instruct-q4_k_m",
                settings={"temperature": 0.7}, prompt_tokens=120, completion_tokens=64,
                time_to_first_token_ms=85.5, tokens_per_second=41.25, finish_reason="abort",
                drafted_tokens=30, accepted_tokens=21),
        Message("m5", conversation.id, "m4", "user", "", "complete",
                "2026-01-02T03:08:00.000000Z"),
    ]  # fmt: skip
    for message in messages:
        store.insert_message(message)
    store.set_active_leaf(conversation.id, "m5")
    return store.get_conversation(conversation.id)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "export-test.db")
    yield opened
    opened.close()


@pytest.fixture
def fresh_store(tmp_path: Path) -> Iterator[Store]:
    """A second, empty store (import target)."""
    opened = Store(tmp_path / "fresh.db")
    yield opened
    opened.close()


@pytest.fixture
def nasty(store: Store) -> Conversation:
    return nasty_conversation(store)
