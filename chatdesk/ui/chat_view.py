"""The conversation's active branch as a scrolling column of message widgets.

Only the newest messages get widgets when a conversation opens (a 2,000-message chat paints as
fast as a short one); older ones are created in batches when the user scrolls to the top.
While a reply streams only its own widget is re-rendered.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from chatdesk.services.chat import ChatService
from chatdesk.services.types import Message
from chatdesk.ui.message_widget import MessageWidget
from chatdesk.ui.rendering import MarkdownRenderer

BATCH = 20
STICK_MARGIN = 48


class ChatView(QScrollArea):
    """Messages of one conversation, newest at the bottom."""

    regenerate = Signal(object)
    continue_reply = Signal(object)
    resend = Signal(object, str)
    switch_sibling = Signal(object, int)
    copied = Signal(str)

    def __init__(
        self, chat: ChatService, renderer: MarkdownRenderer, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self._chat = chat
        self.renderer = renderer
        self.messages: list[Message] = []
        self.widgets: list[MessageWidget] = []
        self._first_shown = 0
        self._stick_bottom = True
        self.setObjectName("chatView")
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        container = QWidget(self)
        container.setObjectName("chatContainer")
        self._column = QVBoxLayout(container)
        self._column.setContentsMargins(16, 12, 16, 12)
        self._column.setSpacing(10)
        self._earlier = QPushButton("Show earlier messages", container)
        self._earlier.setAccessibleName("Show earlier messages")
        self._earlier.clicked.connect(self.load_earlier)
        self._column.addWidget(self._earlier)
        self._empty = QLabel("Send a message to start the conversation.", container)
        self._empty.setObjectName("emptyHint")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._column.addWidget(self._empty)
        self._column.addStretch(1)
        self.setWidget(container)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)

    # -- whole conversation -------------------------------------------------------
    def show_messages(self, messages: list[Message]) -> None:
        """Replace the view with a conversation's active branch (newest batch only)."""
        self._clear()
        self.messages = list(messages)
        self._first_shown = max(0, len(self.messages) - BATCH)
        for message in self.messages[self._first_shown :]:
            self._append_widget(message)
        self._update_extras()
        self._stick_bottom = True
        self.scroll_to_bottom()

    def sync(self, messages: list[Message]) -> None:
        """Bring the view up to date, rebuilding only what changed at the end."""
        common = 0
        for old, new in zip(self.messages, messages, strict=False):
            if old.id != new.id:
                break
            common += 1
        if common < self._first_shown or not self.messages:
            self.show_messages(messages)
            return
        for widget in self.widgets[common - self._first_shown :]:
            self._drop(widget)
        del self.widgets[common - self._first_shown :]
        self.messages = list(messages)
        for message in messages[common:]:
            self._append_widget(message)
        self._refresh_positions(messages[max(common - 1, self._first_shown) : common])
        self._update_extras()
        self._stick_bottom = True
        self.scroll_to_bottom()

    def load_earlier(self) -> None:
        """Create widgets for the previous batch, keeping the visible messages in place."""
        if self._first_shown == 0:
            return
        start = max(0, self._first_shown - BATCH)
        bar = self.verticalScrollBar()
        old_max, old_value = bar.maximum(), bar.value()
        batch = [self._make_widget(m) for m in self.messages[start : self._first_shown]]
        for offset, widget in enumerate(batch):
            self._column.insertWidget(1 + offset, widget)
        self.widgets[0:0] = batch
        self._first_shown = start
        self._update_extras()

        def keep_place() -> None:
            bar.setValue(old_value + bar.maximum() - old_max)

        QTimer.singleShot(0, keep_place)

    # -- streaming ----------------------------------------------------------------
    def widget_for(self, message_id: str) -> MessageWidget | None:
        """The widget showing a message, if it has one."""
        for widget in reversed(self.widgets):
            if widget.message.id == message_id:
                return widget
        return None

    def update_streaming(self, message_id: str, text: str) -> float:
        """Re-render the growing reply; returns how long that took in ms."""
        widget = self.widget_for(message_id)
        if widget is None:
            return 0.0
        widget.show_streaming(text)
        return widget.body.last_render_ms

    def finish_message(self, message: Message, error: str | None = None) -> None:
        """Show a reply's final text, status line and error, if any."""
        widget = self.widget_for(message.id)
        if widget is None:
            return
        index = next((i for i, m in enumerate(self.messages) if m.id == message.id), None)
        if index is not None:
            self.messages[index] = message
        # Keep the streamed rendering (no second full render at the end of a reply) unless
        # a long code block was drawn in pieces: then redraw it as one block, once.
        streamed = not widget.body.pieced
        widget.show_message(message, self._chat.context_note(message), streamed=streamed)
        widget.show_error(error.strip().split("\n", 1)[0] if error else None)
        widget.error_label.setToolTip(error or "")

    def set_busy(self, busy: bool) -> None:
        """Disable regenerate/edit/branch buttons while a reply streams."""
        for widget in self.widgets:
            widget.set_busy(busy)

    def last_reply(self) -> Message | None:
        """The newest assistant message of the branch."""
        return next((m for m in reversed(self.messages) if m.role == "assistant"), None)

    def reveal(self, message_id: str) -> None:
        """Make sure a message has a widget (loading earlier batches) and scroll to it."""
        index = next((i for i, m in enumerate(self.messages) if m.id == message_id), None)
        if index is None:
            return
        while index < self._first_shown:
            self.load_earlier()
        widget = self.widget_for(message_id)
        if widget is not None:
            self._stick_bottom = False
            QTimer.singleShot(0, lambda: self.ensureWidgetVisible(widget, 0, 40))

    def scroll_to_bottom(self) -> None:
        """Jump to the newest message."""
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    # -- internals ----------------------------------------------------------------
    def _make_widget(self, message: Message) -> MessageWidget:
        widget = MessageWidget(
            message,
            self.renderer,
            self._chat.sibling_position(message),
            self._chat.context_note(message),
            self.widget(),
        )
        widget.regenerate.connect(self.regenerate)
        widget.continue_reply.connect(self.continue_reply)
        widget.resend.connect(self.resend)
        widget.switch_sibling.connect(self.switch_sibling)
        widget.copied.connect(self.copied)
        if message.role == "assistant" and message.status in ("error", "interrupted"):
            reason = message.error
            if reason or message.status == "error":
                reason = reason or "The reply failed before any text arrived."
                widget.show_error(reason.split("\n", 1)[0])
                widget.error_label.setToolTip(reason)
        return widget

    def _append_widget(self, message: Message) -> None:
        widget = self._make_widget(message)
        self._column.insertWidget(self._column.count() - 1, widget)
        self.widgets.append(widget)

    def _refresh_positions(self, messages: list[Message]) -> None:
        for message in messages:
            widget = self.widget_for(message.id)
            if widget is not None:
                widget.set_position(self._chat.sibling_position(message))

    def _clear(self) -> None:
        for widget in self.widgets:
            self._drop(widget)
        self.widgets = []
        self.messages = []
        self._first_shown = 0

    def _drop(self, widget: MessageWidget) -> None:
        self._column.removeWidget(widget)
        widget.hide()
        widget.deleteLater()

    def _update_extras(self) -> None:
        self._earlier.setVisible(self._first_shown > 0)
        self._earlier.setText(f"Show earlier messages ({self._first_shown} more)")
        self._empty.setVisible(not self.messages)

    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_bottom = value >= bar.maximum() - STICK_MARGIN
        if value == bar.minimum() and self._first_shown > 0 and bar.maximum() > 0:
            QTimer.singleShot(0, self.load_earlier)

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick_bottom:
            self.verticalScrollBar().setValue(maximum)
