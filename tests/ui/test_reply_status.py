"""The status line under a reply says why an interrupted reply stopped."""

from __future__ import annotations

import dataclasses

import pytest

from chatdesk.store import Message
from chatdesk.ui.message_widget import prompt_progress_text, status_text

REPLY = Message("m2", "c1", "m1", "assistant", "partial te", "interrupted", "now")


@pytest.mark.parametrize(
    ("finish_reason", "label"),
    [
        ("cancelled", "stopped by you"),
        ("error", "interrupted: the engine stopped"),
        (None, "interrupted: ChatDesk closed before the reply finished"),  # a crash of the app
    ],
)
def test_an_interrupted_reply_says_why(finish_reason: str | None, label: str) -> None:
    message = dataclasses.replace(REPLY, finish_reason=finish_reason)
    assert status_text(message, None) == label


def test_prompt_progress_reads_naturally() -> None:
    assert prompt_progress_text(0, 3000, None) == "Reading the conversation: 0 of 3,000 tokens"
    assert prompt_progress_text(1024, 3000, 11.6) == (
        "Reading the conversation: 1,024 of 3,000 tokens, about 12 s left"
    )


def test_the_figures_say_what_speculative_decoding_drafted_and_kept() -> None:
    done = dataclasses.replace(REPLY, status="complete", finish_reason="stop", completion_tokens=90)
    assert "drafted" not in status_text(done, None)
    drafted = dataclasses.replace(done, drafted_tokens=40, accepted_tokens=31)
    assert status_text(drafted, None) == "90 tokens · drafted 40, accepted 31"
