"""One message in the chat view: who wrote it, its text, its actions and its status line.

Looks come from the design system (``chatdesk.ui.design``): the frame's object name
(``message-user``: a tinted bubble set in from the left; ``message-assistant``: plain text
on the page) and the quiet ``statusLine``. The author of a reply is the model's display
name (``model_choices.display_name``), its file path in the tooltip.

The actions (Copy, Regenerate, Edit, Continue, Tokens) are icon buttons whose accessible
name is the action; the row shows on the newest message, on the message under the mouse
and on the message holding keyboard focus (the chat view tells it, ``set_focus_within``),
and keeps its room while hidden so nothing moves. While focus is in a message, one key
presses an action (``ACTION_KEYS``; the tooltips say which): the message's own
``keyPressEvent`` gets the letters its read-only text and its buttons leave alone (one
handler per message, no shortcut objects: a long chat builds many messages). The reply's
figures (speed, first token, tokens, context used) share one line with a slim meter.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import (
    QEnterEvent,
    QGuiApplication,
    QKeyEvent,
    QResizeEvent,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.chat import ContextNote, Passage
from chatdesk.services.model_choices import display_name
from chatdesk.services.types import Message
from chatdesk.ui.citations_bar import CitationsBar
from chatdesk.ui.composer import PromptEdit
from chatdesk.ui.design import FOCUS_WIDTH
from chatdesk.ui.message_body import MessageBody
from chatdesk.ui.reasoning_view import ReasoningView
from chatdesk.ui.rendering import MarkdownRenderer
from chatdesk.ui.theme import current, icon_button
from chatdesk.ui.tool_message import ToolMessageWidget

ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System", "tool": "Tool"}
WRITING = "Writing…"  # the status line while a reply streams
BODY_INSET = FOCUS_WIDTH + 2  # px from a message's edge to its text (focus border, margin)
ACTION_KEYS = {
    "copy": "C",
    "regenerate": "R",
    "continue": "N",
    "tokens": "T",
    "edit": "E",
    "branch": "B",
}
INTERRUPTIONS = {  # why an interrupted reply stopped, by its finish reason
    "cancelled": "stopped by you",
    "error": "interrupted: the engine stopped",
    None: "interrupted: ChatDesk closed before the reply finished",  # left streaming by a crash
}


def status_text(message: Message, note: ContextNote | None) -> str:
    """The figures under a reply: speed, time to first token, why it stopped."""
    parts: list[str] = []
    if message.tokens_per_second:
        parts.append(f"{message.tokens_per_second:.1f} tok/s")
    if message.time_to_first_token_ms is not None:
        parts.append(f"first token {message.time_to_first_token_ms:.0f} ms")
    if message.completion_tokens:
        parts.append(f"{message.completion_tokens} tokens")
    if note is not None and note.n_ctx and note.prompt_tokens is not None:
        used = note.prompt_tokens + (message.completion_tokens or 0)
        parts.append(f"context {used:,} / {note.n_ctx:,}")
    if message.drafted_tokens:  # speculative decoding (issue 25)
        parts.append(f"drafted {message.drafted_tokens}, accepted {message.accepted_tokens or 0}")
    if message.finish_reason == "length":
        parts.append("stopped at the max tokens limit")
    if message.status == "interrupted":
        parts.append(INTERRUPTIONS.get(message.finish_reason, INTERRUPTIONS[None]))
    elif message.status == "error":
        parts.append("failed")
    return " · ".join(parts)


def author(message: Message) -> str:
    """Who wrote a message: "You", or for a reply the display name of its model."""
    if message.role == "assistant" and message.model:
        return display_name(message.model)
    return ROLE_NAMES.get(message.role, message.role)


def prompt_progress_text(evaluated: int, total: int, seconds_left: float | None) -> str:
    """What a reply shows while the model reads a long prompt, before its first token."""
    text = f"Reading the conversation: {evaluated:,} of {total:,} tokens"
    if seconds_left is not None:
        text += f", about {max(1, round(seconds_left)):,} s left"
    return text


def context_text(note: ContextNote | None) -> str:
    """The note shown when older turns did not fit the context, else ""."""
    if note is None or not note.dropped:
        return ""
    turns = "message was" if note.dropped == 1 else "messages were"
    size = f" of {note.n_ctx} tokens" if note.n_ctx else ""
    return (
        f"{note.dropped} older {turns} left out to fit the context{size}; "
        "the model did not see them when writing this reply."
    )


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "..." instead of widening its row (a long
    model file name or status line must not push a message wider than the chat); the full
    text is its tooltip and what ``text()`` returns."""

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle,
    ) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.mode = mode
        self.setMinimumWidth(24)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        """Show ``text``, shortened to the width the layout gives."""
        self.full_text = text
        self.setToolTip(text)
        self._elide()
        self.updateGeometry()  # the size hint follows the full text, even when the shown one stays

    def text(self) -> str:
        """The full text (not the shortened one on screen)."""
        return self.full_text

    def sizeHint(self) -> QSize:
        """Wide enough for the full text, if the row has room."""
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(self.full_text) + 4, hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Shorten the text to the new width."""
        self._elide()
        super().resizeEvent(event)

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self.full_text, self.mode, max(0, self.width()))
        super().setText(shown)


class ContextMeter(QProgressBar):
    """A slim bar of the tokens used of the context (the figures are in the status line;
    the bar's tooltip and accessible description say them too)."""

    def setFormat(self, text: str) -> None:
        """Remember the figures for the tooltip-less readers (the bar shows no text)."""
        self.full_format = text
        self.setAccessibleDescription(text)
        super().setFormat(text)


class MessageWidget(QFrame):
    """A message with copy / regenerate / edit buttons and sibling navigation."""

    regenerate = Signal(object)
    continue_reply = Signal(object)
    resend = Signal(object, str)
    switch_sibling = Signal(object, int)
    copied = Signal(str)
    tokens_toggled = Signal(object, bool)  # this widget, show the token view
    branch = Signal(object)  # a new conversation from the start up to this message

    def __init__(
        self,
        message: Message,
        renderer: MarkdownRenderer,
        position: tuple[int, int] = (1, 1),
        note: ContextNote | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.message = message
        self._reading = False  # the status line shows prompt progress
        self._hovered = self._focused = self._pinned = False
        self._keys: dict[str, QToolButton] = {}  # action key -> its button
        self.setObjectName(f"message-{message.role}")
        self.setProperty("role", message.role)
        theme = current()
        layout = QVBoxLayout(self)
        inset = theme.space("md") if message.role == "user" else theme.space("xs")
        layout.setContentsMargins(inset, theme.space("sm"), inset, theme.space("xs"))
        layout.setSpacing(theme.space("xs"))
        self._header_row = self._header(position)
        layout.addLayout(self._header_row)
        self.reasoning = ReasoningView(self)  # the reply's thinking, collapsed
        layout.addWidget(self.reasoning)
        self.body = MessageBody(renderer, self)
        self.body.setAccessibleName(f"{ROLE_NAMES.get(message.role, message.role)} message")
        self.body.copy_code.connect(self._copy)
        layout.addWidget(self.body)
        self.token_view: QWidget | None = None
        self.tool_column = QVBoxLayout()  # collapsed tool calls / tool result
        layout.addLayout(self.tool_column)
        self.tool_widgets: list[ToolMessageWidget] = []
        self.editor: QWidget | None = None
        self.edit_text: PromptEdit | None = None
        self.error_label = QLabel(self)
        self.error_label.setObjectName("errorText")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.context_label = QLabel(self)
        self.context_label.setObjectName("contextNote")
        self.context_label.setAccessibleName("Context note")
        self.context_label.setWordWrap(True)
        self.context_label.hide()
        layout.addWidget(self.context_label)
        self.citations = CitationsBar(self)
        layout.addWidget(self.citations)
        self.footer = self._footer()  # after the text in the tab order
        if self.message.role == "user":  # in the bubble's header row
            self._header_row.insertWidget(1, self.footer)
        else:
            layout.addWidget(self.footer)
        self.show_message(message, note)

    # -- building -----------------------------------------------------------------
    def _header(self, position: tuple[int, int]) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(current().space("xxs"))
        row.setContentsMargins(BODY_INSET, 0, 0, 0)  # the name starts where the text does
        role = ElidedLabel(author(self.message), self, Qt.TextElideMode.ElideRight)
        role.setObjectName("roleLabel")
        role.setToolTip(self.message.model or "" if self.message.role == "assistant" else "")
        row.addWidget(role, 1)  # takes the free room, shortened only when there is none
        self.previous_button = self._action(
            "previous-version", "Previous version", lambda: self._step(-1)
        )
        self.position_label = QLabel(self)
        self.position_label.setProperty("look", "small")
        self.position_label.setAccessibleName("Version")
        self.next_button = self._action("next-version", "Next version", lambda: self._step(1))
        for widget in (self.previous_button, self.position_label, self.next_button):
            row.addWidget(widget)
        self.set_position(position)
        return row

    def _footer(self) -> QWidget:
        """Actions, then the reply's figures in one quiet line that elides (its tooltip has
        it all), then the context meter: one row at any width."""
        footer = QWidget(self)
        row = QHBoxLayout(footer)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(current().space("sm"))
        self.action_row = QWidget(footer)
        self.action_row.setObjectName("messageActions")
        policy = self.action_row.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # showing it on hover moves nothing
        self.action_row.setSizePolicy(policy)
        buttons = QHBoxLayout(self.action_row)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(current().space("xxs"))
        for button in self._action_buttons():
            buttons.addWidget(button)
        row.addWidget(self.action_row)
        self.status_label = ElidedLabel("", self, Qt.TextElideMode.ElideRight)
        self.status_label.setObjectName("statusLine")
        self.status_label.setAccessibleName("Reply status")
        row.addWidget(self.status_label, 1)  # shortened when the line is too narrow for it
        self.status_label.setVisible(self.message.role != "user")  # figures are a reply's
        self.context_meter = ContextMeter(self)
        self.context_meter.setObjectName("contextMeter")
        self.context_meter.setAccessibleName("Context used")
        self.context_meter.setTextVisible(False)
        self.context_meter.setFixedSize(current().space("xxl") * 2, current().space("xs") + 2)
        self.context_meter.hide()
        row.addWidget(self.context_meter, 0, Qt.AlignmentFlag.AlignVCenter)
        self._update_actions()
        return footer

    def _action_buttons(self) -> list[QToolButton]:
        self.copy_button = self._action("copy", "Copy message", self._copy_message)
        self.branch_button = self._action(
            "branch", "Branch into a new conversation", lambda: self.branch.emit(self.message)
        )
        if self.message.role == "assistant":
            self.regenerate_button = self._action(
                "regenerate", "Regenerate reply", lambda: self.regenerate.emit(self.message)
            )
            self.continue_button = self._action(
                "continue", "Continue the reply", lambda: self.continue_reply.emit(self.message)
            )
            self.tokens_button: QToolButton = self._action(
                "tokens", "Show the reply's tokens with their probabilities", self._toggle_tokens
            )
            self.tokens_button.setCheckable(True)
            return [
                self.copy_button,
                self.regenerate_button,
                self.continue_button,
                self.tokens_button,
                self.branch_button,
            ]
        if self.message.role == "user":
            self.edit_button = self._action("edit", "Edit and resend", self.start_edit)
            return [self.copy_button, self.edit_button, self.branch_button]
        return [self.copy_button, self.branch_button]

    def _action(self, action: str, name: str, slot: object) -> QToolButton:
        """An icon button; with a key in ACTION_KEYS, that key presses it while the message
        holds focus (``keyPressEvent``)."""
        key = ACTION_KEYS.get(action, "")
        button = icon_button(action, name, key, self)
        button.clicked.connect(slot)
        if key:
            self._keys[key] = button
        return button

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """A key the focused part left alone (the text is read-only, buttons take no
        letters): one of ACTION_KEYS presses its action. The editor keeps its letters."""
        plain = event.modifiers() == Qt.KeyboardModifier.NoModifier
        button = self._keys.get(event.text().upper()) if plain and event.text() else None
        usable = button is not None and button.isEnabled() and not button.isHidden()
        if usable and button is not None and self.editor is None:
            button.click()
            return
        super().keyPressEvent(event)

    # -- when the actions show ------------------------------------------------------
    def enterEvent(self, event: QEnterEvent) -> None:
        """The mouse is over the message: show its actions."""
        self._hovered = True
        self._update_actions()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        """The mouse left: hide the actions unless focus or position keeps them."""
        self._hovered = False
        self._update_actions()
        super().leaveEvent(event)

    def set_focus_within(self, focused: bool) -> None:
        """Keyboard focus entered (or left) this message."""
        self._focused = focused
        self._update_actions()

    def set_pinned(self, pinned: bool) -> None:
        """The newest message keeps its actions shown."""
        self._pinned = pinned
        self._update_actions()

    def _update_actions(self) -> None:
        tokens_open = self.token_view is not None
        shown = self._hovered or self._focused or self._pinned or tokens_open
        self.action_row.setVisible(shown)

    # -- content ------------------------------------------------------------------
    def show_message(
        self, message: Message, note: ContextNote | None = None, streamed: bool = False
    ) -> None:
        """Show a finished (or stored) message with its status line.

        A reply that was just streamed keeps its incremental rendering (only the tail is
        redone), so the end of a long reply costs no more than one frame.
        """
        self.message = message
        self._show_tools(message)
        self.reasoning.show_reasoning(str((message.extra or {}).get("reasoning") or ""))
        if message.role == "assistant" and streamed:
            self.body.show_streaming(message.content, defer=True)
        elif message.role == "assistant":
            self.body.show_markdown(message.content)
        else:
            self.body.show_plain(message.content)
        self.body.setVisible(
            message.role != "tool" and (bool(message.content) or message.status != "error")
        )
        if message.role == "assistant":  # cut off by Stop, a crash or the token limit
            cut = message.status == "interrupted" or message.finish_reason == "length"
            self.continue_button.setVisible(cut and bool(message.content))
            self.tokens_button.setVisible(bool(message.settings.get("logprobs")))  # kept with it
        self.set_status(status_text(message, note), note)

    def _toggle_tokens(self) -> None:
        self.tokens_toggled.emit(self, self.tokens_button.isChecked())

    def set_token_view(self, view: QWidget | None) -> None:
        """Show ``view`` (the reply's tokens) in place of the text, or the text again."""
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        old = self.token_view
        if old is not None:
            layout.removeWidget(old)
            old.hide()  # at once: deletion waits for the event loop
            old.deleteLater()
        self.token_view = view
        if view is not None:
            layout.insertWidget(layout.indexOf(self.body) + 1, view)
        self.body.setVisible(view is None)
        self._update_actions()

    def _show_tools(self, message: Message) -> None:
        """An assistant's calls, or a tool message's result, as collapsed plain text."""
        for widget in self.tool_widgets:
            widget.deleteLater()
        calls: list[tuple[dict[str, Any], str | None]] = [
            (c, None) for c in message.tool_calls or []
        ]
        if message.role == "tool":
            calls = [
                ({"id": message.tool_call_id, "function": {"name": "result"}}, message.content)
            ]
        self.tool_widgets = [ToolMessageWidget(call, output, self) for call, output in calls]
        for widget in self.tool_widgets:
            self.tool_column.addWidget(widget)

    def show_citations(self, passages: list[Passage]) -> None:
        """The sources the reply cites, as links under it (hidden when there are none)."""
        self.citations.show_citations(self.message.content, passages)

    def start_reply(self) -> None:
        """A reply starts (or continues) streaming into this message: whatever its status
        line said before (stopped, interrupted, old figures) no longer holds."""
        self._reading = False
        self.status_label.setText(WRITING)
        self.context_meter.hide()
        if self.message.role == "assistant":
            self.continue_button.setVisible(False)
        self.show_error(None)

    def show_streaming(self, text: str) -> None:
        """Re-render the growing reply (called at most once per frame; its pieces go into
        the document in the next turn of the event loop)."""
        if self._reading and text:  # the prompt is read: the model is writing now
            self.start_reply()
        self.body.show_streaming(text, defer=True)

    def show_error(self, text: str | None) -> None:
        """The engine's reason when this reply failed."""
        self.error_label.setText(text or "")
        self.error_label.setVisible(bool(text))

    def set_status(self, text: str, note: ContextNote | None) -> None:
        """Status line and context meter (tokens used of the context length)."""
        self.status_label.setText(text)
        self.context_label.setText(context_text(note))
        self.context_label.setVisible(bool(self.context_label.text()))
        if note and note.n_ctx and note.prompt_tokens is not None:
            used = note.prompt_tokens + (self.message.completion_tokens or 0)
            self.context_meter.setRange(0, note.n_ctx)
            self.context_meter.setValue(min(used, note.n_ctx))
            self.context_meter.setFormat(f"{used} / {note.n_ctx}")
            self.context_meter.setToolTip(f"Context: {used:,} of {note.n_ctx:,} tokens used")
            self.context_meter.show()
        else:
            self.context_meter.hide()

    def set_position(self, position: tuple[int, int]) -> None:
        """Sibling navigation: "2/3", hidden when there is only one version."""
        self._position = position
        index, count = position
        self.position_label.setText(f"{index}/{count}")
        for widget in (self.previous_button, self.position_label, self.next_button):
            widget.setVisible(count > 1)
        self.previous_button.setEnabled(index > 1)
        self.next_button.setEnabled(index < count)

    def show_prompt_progress(self, evaluated: int, total: int, seconds_left: float | None) -> None:
        """Progress of the prompt evaluation, in the status line and the meter."""
        self._reading = True
        self.status_label.setText(prompt_progress_text(evaluated, total, seconds_left))
        self.context_meter.setRange(0, max(1, total))
        self.context_meter.setValue(min(evaluated, total))
        self.context_meter.setFormat(f"{evaluated} / {total}")
        self.context_meter.setToolTip("Prompt tokens evaluated")
        self.context_meter.show()

    def set_busy(self, busy: bool) -> None:
        """While any reply streams, actions that would start another are disabled."""
        names = ("regenerate_button", "continue_button", "edit_button", "branch_button")
        for name in (*names, "previous_button", "next_button"):
            button = getattr(self, name, None)
            if button is not None:
                button.setDisabled(busy)
        if not busy:
            self.set_position(self._position)

    # -- actions ------------------------------------------------------------------
    def _step(self, step: int) -> None:
        self.switch_sibling.emit(self.message, step)

    def _copy_message(self) -> None:
        self._copy(self.message.content)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(text)

    def start_edit(self) -> None:
        """Replace the text by an editor; Send makes a new branch from here."""
        if self.editor is not None:
            return
        self.editor = QWidget(self)
        column = QVBoxLayout(self.editor)
        column.setContentsMargins(0, 0, 0, 0)
        text = PromptEdit(self.editor)  # the composer's keys: Enter sends, Shift+Enter, Esc
        text.setObjectName("editText")
        text.setAccessibleName("Edit message")
        text.setPlaceholderText("Enter sends, Shift+Enter for a new line, Esc cancels")
        text.setPlainText(self.message.content)
        text.moveCursor(QTextCursor.MoveOperation.End)
        text.submit.connect(lambda: self._finish_edit(text.toPlainText()))
        text.escape.connect(lambda: self._finish_edit(None))
        self.edit_text = text
        buttons = QHBoxLayout()
        send = QPushButton("Send", self.editor)
        cancel = QPushButton("Cancel", self.editor)
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(send)
        column.addWidget(text)
        column.addLayout(buttons)
        send.clicked.connect(lambda: self._finish_edit(text.toPlainText()))
        cancel.clicked.connect(lambda: self._finish_edit(None))
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(2, self.editor)
        self.body.hide()
        self.footer.hide()  # Copy / Edit make no sense on a message being rewritten
        text.setFocus(Qt.FocusReason.OtherFocusReason)

    def _finish_edit(self, text: str | None) -> None:
        if self.editor is not None:
            self.editor.deleteLater()
            self.editor = None
            self.edit_text = None
        self.body.show()
        self.footer.show()
        if text is not None and text.strip():
            self.resend.emit(self.message, text)
