"""The few-shot examples editor: collapsed with a count, editable when opened."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.ui.examples_editor import ExamplesEditor

PAIRS = [{"user": "cat", "assistant": "chat"}, {"user": "dog", "assistant": "chien"}]


def test_collapsed_with_a_count_then_editable(qtbot: QtBot) -> None:
    editor = ExamplesEditor()
    qtbot.addWidget(editor)
    editor.set_examples(PAIRS)
    editor.show()
    assert editor.header.text() == "▸ Examples (2)"
    assert not editor.body.isVisible()
    qtbot.mouseClick(editor.header, Qt.MouseButton.LeftButton)
    assert editor.body.isVisible()
    assert editor.header.text() == "▾ Examples (2)"
    with qtbot.waitSignal(editor.examples_changed) as changed:
        editor.rows[1].assistant.setPlainText("le chien")
    assert changed.args[0][1] == {"user": "dog", "assistant": "le chien"}


def test_add_and_remove_examples(qtbot: QtBot) -> None:
    editor = ExamplesEditor()
    qtbot.addWidget(editor)
    editor.set_examples(PAIRS)
    editor.header.setChecked(True)
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert len(editor.rows) == 3
    assert editor.examples() == PAIRS  # the new, empty exchange is not an example yet
    editor.rows[2].user.setPlainText("bird")
    editor.rows[2].assistant.setPlainText("oiseau")
    with qtbot.waitSignal(editor.examples_changed) as changed:
        qtbot.mouseClick(editor.rows[0].remove, Qt.MouseButton.LeftButton)
    assert changed.args[0] == [PAIRS[1], {"user": "bird", "assistant": "oiseau"}]
    assert editor.header.text() == "▾ Examples (2)"
