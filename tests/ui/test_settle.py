"""A streamed reply, once finished, is drawn exactly as the same text drawn from scratch.

Streaming cuts a long code block every few lines; ``MessageBody.settle`` redraws only the
pieces a whole render cuts differently. The documents are compared as Qt writes them out
(``toHtml``): code blocks with their headers and "Copy code" links, tables, lists, links.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pytestqt.qtbot import QtBot

from chatdesk.ui.bridge import Background, EventBridge
from chatdesk.ui.message_body import MessageBody
from chatdesk.ui.rendering import MarkdownRenderer

CODE = "".join(f"    value_{n} = compute(data[{n}], 'name')  # step {n}\n" for n in range(130))
REPLY = (
    "Intro with **bold** and a [link](https://example.org).\n\n"
    "```python\nimport json\n```\n\n"
    "| step | cost |\n|---|---|\n| read | 2 ms |\n\n"
    f"A long one:\n\n```python\ndef load(data):\n{CODE}```\n\n"
    "1. first\n2. second\n\n"
    "```sh\necho done\n```\n\nThe end, $x^2$ as written.\n"
)


def streamed_body(qtbot: QtBot, text: str) -> MessageBody:
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    for end in range(1, len(text) + 1, 7):
        body.show_streaming(text[:end])
    body.show_streaming(text)
    return body


def drawn_from_scratch(qtbot: QtBot, text: str) -> MessageBody:
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    body.show_markdown(text)
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    return body


def test_settled_reply_equals_a_render_from_scratch(qtbot: QtBot) -> None:
    body = streamed_body(qtbot, REPLY)
    scratch = drawn_from_scratch(qtbot, REPLY)
    assert body.pieced  # the long block was streamed in pieces: the documents differ now
    assert body.document().toHtml() != scratch.document().toHtml()
    body.settle()
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    assert body.document().toHtml() == scratch.document().toHtml()
    assert body.toPlainText().count("Copy code") == 3
    assert body.code_blocks == scratch.code_blocks
    assert body.code_blocks[1] == f"def load(data):\n{CODE}"


def test_settle_keeps_the_text_in_view_until_the_swap(qtbot: QtBot) -> None:
    body = streamed_body(qtbot, REPLY)
    shown = body.toPlainText()
    body.settle()
    assert body.rendering
    assert body.toPlainText() == shown  # nothing removed before the new pieces are ready
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    assert body.toPlainText().count("value_129 = compute") == 1


def test_a_reply_without_pieced_code_is_left_as_streamed(qtbot: QtBot) -> None:
    text = REPLY.replace(CODE, "    return 1\n")
    body = streamed_body(qtbot, text)
    before = body.document().toHtml()
    body.settle()
    assert not body.rendering
    assert body.document().toHtml() == before == drawn_from_scratch(qtbot, text).document().toHtml()


def test_settle_renders_on_a_worker_thread_through_the_bridge(qtbot: QtBot) -> None:
    """With the window's Background, the pieces are rendered off the GUI thread and put in
    place when they come back: the same document as a render from scratch."""
    threads: list[str] = []
    background = Background(EventBridge())

    def run(work: Callable[[], Any], done: Callable[[Any], None], failed: Any = None) -> None:
        background.run(
            lambda: (threads.append(threading.current_thread().name), work())[1], done, failed
        )

    body = streamed_body(qtbot, REPLY)
    shown = body.toPlainText()
    body.settle(run)
    assert body.rendering
    assert body.toPlainText() == shown
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    assert threads == ["chatdesk-background"]
    assert body.document().toHtml() == drawn_from_scratch(qtbot, REPLY).document().toHtml()
    assert body.code_blocks[1] == f"def load(data):\n{CODE}"


def test_a_settle_for_an_older_text_is_dropped(qtbot: QtBot) -> None:
    background = Background(EventBridge())
    body = streamed_body(qtbot, REPLY)
    body.settle(background.run)
    body.show_streaming("A new reply.")  # regenerated before the worker came back
    qtbot.wait(300)
    assert body.toPlainText().strip() == "A new reply."
    assert not body.rendering


def test_a_settled_reply_can_stream_on(qtbot: QtBot) -> None:
    """Continuing a settled reply (Continue) draws the longer text once, as from scratch."""
    body = streamed_body(qtbot, REPLY)
    body.settle()
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    longer = REPLY + "\nAnd one more paragraph.\n"
    body.show_streaming(longer)
    assert body.toPlainText().count("value_129 = compute") == 1
    assert body.toPlainText().count("And one more paragraph.") == 1
    body.settle()
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    assert body.document().toHtml() == drawn_from_scratch(qtbot, longer).document().toHtml()


def test_a_deferred_frame_goes_in_at_the_next_turn_and_the_settle_waits_for_it(
    qtbot: QtBot,
) -> None:
    """The window's frames: the HTML is made at once, the document changes in the next turn
    of the event loop (calls before then make one frame); a settle asked for meanwhile runs
    after the frame, and the reply ends as a render from scratch."""
    body = MessageBody(MarkdownRenderer())
    qtbot.addWidget(body)
    half = len(REPLY) // 2
    body.show_streaming(REPLY[:half], defer=True)
    assert body.toPlainText() == ""
    assert body.rendering
    qtbot.waitUntil(lambda: not body.rendering, timeout=5_000)
    shown = body.toPlainText()
    assert "Intro with bold" in shown
    for end in range(half, len(REPLY) + 1, 11):
        body.show_streaming(REPLY[:end], defer=True)
    body.show_streaming(REPLY, defer=True)
    assert body.toPlainText() == shown  # one frame, not yet in the document
    body.settle()
    assert body.rendering
    qtbot.waitUntil(lambda: not body.rendering, timeout=10_000)
    assert "The end, $x^2$ as written." in body.toPlainText()
    assert body.document().toHtml() == drawn_from_scratch(qtbot, REPLY).document().toHtml()
    assert body.code_blocks == drawn_from_scratch(qtbot, REPLY).code_blocks
