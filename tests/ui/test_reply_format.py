"""The "Reply format" setting and structured replies in the window.

The editor checks the schema as it is typed (a keyword ChatDesk cannot enforce is named,
and nothing is saved until it can); the "Extract fields as JSON" preset sets the format;
with the real starter model the reply is shown pretty-printed with its verdict, and Copy
puts the JSON on the clipboard.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from chatdesk.services.settings import CONTACT_SCHEMA
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.reply_format import ReplyFormatEditor, StructuredReplyView
from tests.ui.conftest import wait_for_reply


def test_the_schema_is_validated_as_you_type(qtbot: QtBot) -> None:
    editor = ReplyFormatEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.set_format(None)
    assert not editor.schema.isVisible()
    editor.kind.setCurrentIndex(editor.kind.findData("json_schema"))
    assert editor.schema.isVisible()
    emitted: list[object] = []
    editor.format_changed.connect(emitted.append)
    editor.schema.setPlainText('{"type": "object", "properties": {"a": ')
    assert "not valid JSON" in editor.status.text()
    editor.schema.setPlainText('{"type": "string", "format": "email"}')
    assert "'format'" in editor.status.text()
    assert "/format" in editor.status.text()
    assert emitted == []  # nothing saved while the schema cannot be used
    editor.schema.setPlainText('{"type": "object", "properties": {"a": {"type": "integer"}}}')
    assert editor.status.text().startswith("✓")
    assert emitted[-1] == {"type": "json_schema", "schema": editor.schema.toPlainText()}


def test_a_structured_reply_is_pretty_printed_and_copied(qtbot: QtBot) -> None:
    view = StructuredReplyView('{"a":1,"b":[true]}', {"status": "valid", "name": "x"})
    qtbot.addWidget(view)
    assert view.verdict.text() == "Valid JSON (x)"
    assert view.json.toPlainText() == json.dumps({"a": 1, "b": [True]}, indent=2)
    qtbot.mouseClick(view.copy, Qt.MouseButton.LeftButton)
    assert json.loads(QGuiApplication.clipboard().text()) == {"a": 1, "b": [True]}


def test_the_extract_preset_gives_a_json_reply_in_the_window(
    qtbot: QtBot, starter_window: MainWindow
) -> None:
    window = starter_window
    panel = window.settings_panel.conversation
    panel.presets.setCurrentText("Extract fields as JSON")
    panel.apply_preset_button.click()
    editor = window.reply_format.editor
    assert editor.kind.currentData() == "json_schema"
    assert json.loads(editor.schema.toPlainText()) == CONTACT_SCHEMA
    window.composer.text.setPlainText("Ask Ana Ruiz (ana@ruiz.es) at Initech.")
    qtbot.keyClick(window.composer.text, Qt.Key.Key_Return)
    wait_for_reply(qtbot, window, timeout=600_000)
    cid = window.conversation_id
    assert cid is not None
    assert window.services.structured.reply_format(cid) is not None
    reply = window.chat_view.last_reply()
    assert reply is not None
    widget = window.chat_view.widget_for(reply.id)
    assert widget is not None
    qtbot.waitUntil(lambda: isinstance(widget.token_view, StructuredReplyView), timeout=5000)
    view = widget.token_view
    assert isinstance(view, StructuredReplyView)
    assert view.verdict.text().startswith("Valid JSON")
    assert set(json.loads(view.json.toPlainText())) == set(CONTACT_SCHEMA["properties"])
