"""Editing a sent message from the keyboard, as in the composer."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.store import Message
from chatdesk.ui.message_widget import MessageWidget
from chatdesk.ui.rendering import MarkdownRenderer

QUESTION = Message("m1", "c1", None, "user", "What is the capital of France?", "complete", "now")


@pytest.fixture
def widget(qtbot: QtBot) -> MessageWidget:
    made = MessageWidget(QUESTION, MarkdownRenderer())
    qtbot.addWidget(made)
    made.show()
    made.start_edit()
    assert made.edit_text is not None
    qtbot.waitUntil(made.edit_text.hasFocus)
    return made


def test_enter_sends_the_edited_message(qtbot: QtBot, widget: MessageWidget) -> None:
    assert widget.edit_text is not None
    assert not widget.footer.isVisible()  # no Copy / Edit row while editing
    qtbot.keyClick(widget.edit_text, Qt.Key.Key_Backspace)
    qtbot.keyClicks(widget.edit_text, " of Italy?")
    with qtbot.waitSignal(widget.resend) as sent:
        qtbot.keyClick(widget.edit_text, Qt.Key.Key_Return)
    assert sent.args == [QUESTION, "What is the capital of France of Italy?"]
    assert widget.editor is None
    assert widget.footer.isVisible()


def test_shift_enter_adds_a_line_and_esc_cancels(qtbot: QtBot, widget: MessageWidget) -> None:
    edit = widget.edit_text
    assert edit is not None
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(edit, "Answer in one word.")
    assert edit.toPlainText() == "What is the capital of France?\nAnswer in one word."
    with qtbot.assertNotEmitted(widget.resend):
        qtbot.keyClick(edit, Qt.Key.Key_Escape)
    assert widget.editor is None
    assert widget.body.isVisible()
    assert widget.footer.isVisible()
