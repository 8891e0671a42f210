"""The "Reply format" setting and how a structured reply is shown.

``ReplyFormatEditor`` is the settings panel's Reply format section: Text, JSON (any
object) or JSON schema, with a schema editor that checks as you type — the same check the
turn makes (``services.structured.parse_format``: valid JSON, a valid schema, and nothing
ChatDesk cannot enforce exactly; a refusal names the keyword and its path). Only a format
that passes is saved on the conversation. ``StructuredReplyView`` shows a reply that had a
format: its verdict (valid / invalid / incomplete), the JSON pretty-printed, and a Copy
button. ``ReplyFormatActions`` wires both into the window (conversation switch, presets,
finished turns), so the window module itself only creates it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.structured import FormatError, parse_format, verdict_of

if TYPE_CHECKING:
    from chatdesk.services.turns import Turn, TurnRequest
    from chatdesk.services.types import Message
    from chatdesk.ui.main_window import MainWindow

KINDS = (("Text", "text"), ("JSON", "json_object"), ("JSON schema", "json_schema"))
STATUS_TEXT = {"valid": "Valid JSON", "invalid": "Does not follow the format",
               "incomplete": "Incomplete JSON", "refused": "Format refused"}  # fmt: skip


class ReplyFormatEditor(QWidget):
    """Text / JSON / JSON schema, with a schema editor validated as you type."""

    format_changed = Signal(object)  # a valid format dict, or None for plain text

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox(self)
        self.kind.setAccessibleName("Reply format")
        for label, value in KINDS:
            self.kind.addItem(label, value)
        self.schema = QPlainTextEdit(self)
        self.schema.setAccessibleName("JSON schema")
        self.schema.setTabChangesFocus(True)  # Tab moves on (no keyboard trap)
        self.schema.setPlaceholderText('{"type": "object", "properties": {...}}')
        self.schema.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.schema.setMaximumHeight(160)
        self.status = QLabel(self)
        self.status.setObjectName("replyFormatStatus")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.kind)
        layout.addWidget(self.schema)
        layout.addWidget(self.status)
        self._loading = False
        self.kind.currentIndexChanged.connect(lambda _i: self._edited())
        self.schema.textChanged.connect(self._edited)
        self._show_kind()

    def set_format(self, value: dict[str, Any] | None) -> None:
        """Show a stored format (None: text); emits nothing."""
        self._loading = True
        kind = (value or {}).get("type", "text")
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        schema = (value or {}).get("schema")
        self.schema.setPlainText(json.dumps(schema, indent=2) if schema is not None else "")
        self._loading = False
        self._show_kind()
        self.check()

    def current(self) -> dict[str, Any] | None:
        """The format as edited (not checked)."""
        kind = self.kind.currentData()
        if kind == "json_schema":
            return {"type": kind, "schema": self.schema.toPlainText()}
        return None if kind == "text" else {"type": kind}

    def check(self) -> bool:
        """Validate the edited format and say so under the editor."""
        try:
            parse_format(self.current())
        except FormatError as error:
            self.status.setText(f"✗ {error}")
            self.status.setProperty("valid", False)
            return False
        kind = self.kind.currentData()
        self.status.setText("" if kind == "text" else "✓ ChatDesk can enforce this format")
        self.status.setProperty("valid", True)
        return True

    def _show_kind(self) -> None:
        self.schema.setVisible(self.kind.currentData() == "json_schema")

    def _edited(self) -> None:
        self._show_kind()
        if self._loading:
            return
        if self.check():
            self.format_changed.emit(self.current())


class StructuredReplyView(QWidget):
    """A structured reply: its verdict, the JSON pretty-printed, a Copy button."""

    def __init__(self, text: str, verdict: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pretty = pretty_json(text)
        status = str(verdict.get("status", ""))
        headline = STATUS_TEXT.get(status, status)
        if verdict.get("name"):
            headline += f" ({verdict['name']})"
        if verdict.get("error"):
            headline += f": {verdict['error']}"
        self.verdict = QLabel(headline, self)
        self.verdict.setObjectName("structuredVerdict")
        self.verdict.setWordWrap(True)
        self.json = QPlainTextEdit(self.pretty, self)
        self.json.setReadOnly(True)
        self.json.setAccessibleName("Reply as JSON")
        self.json.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.copy = QPushButton("Copy JSON", self)
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.pretty))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdict)
        layout.addWidget(self.json)
        layout.addWidget(self.copy)


def pretty_json(text: str) -> str:
    """``text`` indented when it parses as JSON, else as it is."""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except ValueError:
        return text


class ReplyFormatActions(QObject):
    """The reply format editor in the settings panel, and structured replies in the chat."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.feature = window.services.structured
        conversation = window.settings_panel.conversation
        self.editor = ReplyFormatEditor(conversation)
        window.settings_panel.add_section("Reply format", self.editor)
        self.editor.format_changed.connect(self.save_format)
        conversation.preset_applied.connect(self.apply_preset_format)
        window.bridge.turn_finished.connect(self.turn_finished)
        self.pending: dict[str, Any] | None = None  # chosen before the chat had a conversation
        window.services.turns.add_request_hook(self.first_request)

    def show_conversation(self, conversation_id: str | None) -> None:
        """Show the open conversation's format, and its structured replies as JSON."""
        self.pending = None
        self.editor.set_format(self.feature.reply_format(conversation_id) if conversation_id
                               else None)  # fmt: skip
        for message in self.window.chat.messages(conversation_id) if conversation_id else []:
            self.show_reply(message)

    def save_format(self, value: dict[str, Any] | None) -> None:
        """Store an edited (valid) format on the open conversation, or keep it for the
        conversation the first message will create."""
        cid = self.window.conversation_id
        if cid is None:
            self.pending = value
            return
        self.save_format_on(cid, value)

    def first_request(self, request: TurnRequest) -> None:
        """Request hook: a new conversation takes the format chosen before it existed."""
        pending, self.pending = self.pending, None
        if pending is None or self.feature.reply_format(request.conversation_id) is not None:
            return
        self.save_format_on(request.conversation_id, pending)
        self.feature.prepare(request)  # the format joins this first request too

    def save_format_on(self, conversation_id: str, value: dict[str, Any] | None) -> None:
        try:
            self.feature.set_reply_format(conversation_id, value)
        except FormatError as error:
            self.window.notice.show_notice(str(error))

    def apply_preset_format(self, name: str) -> None:
        """After a preset was applied: its reply format replaces the conversation's."""
        try:
            preset = self.window.services.settings.preset(name)
        except KeyError:
            return
        self.editor.set_format(preset.reply_format)
        self.save_format(preset.reply_format)

    def turn_finished(self, turn: Turn) -> None:
        if turn.conversation_id == self.window.conversation_id:
            self.show_reply(self.window.chat.message(turn.message_id))

    def show_reply(self, message: Message) -> None:
        """A reply that had a format: show it as JSON with its verdict."""
        verdict = verdict_of(message.extra)
        widget = self.window.chat_view.widget_for(message.id)
        if verdict is None or widget is None or not message.content:
            return
        widget.set_token_view(StructuredReplyView(message.content, verdict, widget))
