"""The conversation's active branch as a scrolling column of message widgets.

Only a window of messages gets widgets (a 2,000-message chat paints as fast as a short one):
the newest batch when a conversation opens, or the batch around one message when a search
hit opens it (``show_message``: that message is scrolled into view and highlighted). More
batches are created as the user scrolls near the top (earlier) or the bottom (later).

The reading position never jumps: the view keeps a scroll anchor, the first message visible
at the top and its distance from the top edge. Whenever the layout moves that message
(earlier messages inserted above it, bodies growing as they lay out), the scroll position is
corrected so it stays where the reader saw it. At the bottom of the chat the view sticks to
the bottom instead (a streaming reply stays in sight). While a reply streams only its own
widget is re-rendered.

The messages sit in one column capped at the design's column width and centred on wide
windows (``apply_design`` re-reads the width after the font size changes). The newest
message keeps its actions shown; the message holding keyboard focus shows its own.
``branch_shown`` is emitted whenever the shown branch or one of its replies changed (the
window's context meter follows it).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.chat import ChatService
from chatdesk.services.types import Message
from chatdesk.ui.bridge import Background, OrderedWorker
from chatdesk.ui.message_widget import MessageWidget
from chatdesk.ui.rendering import MarkdownRenderer
from chatdesk.ui.theme import current, repolish

BATCH = 20
STICK_MARGIN = 48
LOAD_MARGIN = 240  # px from either end of the scroll range where the next batch loads
FOCUS_OFFSET = 40  # px between the top edge and a message opened by show_message


class ChatView(QScrollArea):
    """Messages of one conversation, newest at the bottom."""

    regenerate = Signal(object)
    continue_reply = Signal(object)
    resend = Signal(object, str)
    switch_sibling = Signal(object, int)
    copied = Signal(str)
    tokens_toggled = Signal(object, bool)  # a MessageWidget, show its token view
    branched = Signal(str)  # the id of a new conversation branched from a message
    branch_shown = Signal()  # ``messages`` changed: opened, synced, a reply finished

    def __init__(
        self,
        chat: ChatService,
        renderer: MarkdownRenderer,
        parent: QWidget | None = None,
        background: Background | None = None,
    ):
        super().__init__(parent)
        self._chat = chat
        self._renders = render_worker(self, background)  # a finished reply's pieces (settle)
        self.renderer = renderer
        self.messages: list[Message] = []
        self.widgets: list[MessageWidget] = []
        self._first_shown = 0
        self._last_shown = 0  # exclusive: widgets show messages[_first_shown:_last_shown]
        self._stick_bottom = True
        self._anchor: MessageWidget | None = None
        self._anchor_offset = 0
        self._restoring = False
        self._loading = False
        self.highlighted: MessageWidget | None = None
        self.setObjectName("chatView")
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        container = QWidget(self)
        container.setObjectName("chatContainer")
        row = QHBoxLayout(container)  # the column, centred, between two stretches
        row.setContentsMargins(0, 0, 0, 0)
        self.column = QWidget(container)
        self.column.setObjectName("chatColumn")
        row.addStretch(1)
        row.addWidget(self.column, 100)
        row.addStretch(1)
        self._column = QVBoxLayout(self.column)
        self.apply_design()
        self._earlier = QPushButton("Show earlier messages", self.column)
        self._earlier.setAccessibleName("Show earlier messages")
        self._earlier.clicked.connect(self.load_earlier)
        self._column.addWidget(self._earlier)
        self._empty = QLabel("Send a message to start the conversation.", self.column)
        self._empty.setObjectName("emptyHint")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._column.addWidget(self._empty)
        self._later = QPushButton("Show later messages", self.column)
        self._later.setAccessibleName("Show later messages")
        self._later.clicked.connect(self.load_later)
        self._column.addWidget(self._later)
        self._column.addStretch(1)
        self.setWidget(container)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)

    def apply_design(self) -> None:
        """Column width and spacing from the design system (after a theme or font change)."""
        theme = current()
        self.column.setMaximumWidth(theme.column_width())
        self._column.setContentsMargins(
            theme.space("lg"), theme.space("md"), theme.space("lg"), theme.space("md")
        )
        self._column.setSpacing(theme.space("md"))

    # -- whole conversation -------------------------------------------------------
    def show_messages(self, messages: list[Message], focus: str | None = None) -> None:
        """Replace the view with a conversation's active branch: the newest batch, or with
        ``focus`` (a message id) the batch around that message, scrolled to and highlighted."""
        self._clear()
        self.messages = list(messages)
        index = self._index_of(focus)
        if index is None:
            self._first_shown = max(0, len(self.messages) - BATCH)
            self._last_shown = len(self.messages)
        else:
            self._first_shown = max(0, index - BATCH // 2)
            self._last_shown = min(len(self.messages), self._first_shown + BATCH + 1)
        for message in self.messages[self._first_shown : self._last_shown]:
            self._append_widget(message)
        self._update_extras()
        if index is None:
            self._stick_bottom = True
            self.scroll_to_bottom()
        else:
            self._focus(self.widgets[index - self._first_shown])

    def show_message(self, message_id: str) -> None:
        """Scroll to a message of the shown branch and highlight it (a search hit), creating
        only the widgets around it; nothing happens for an id not in the branch."""
        index = self._index_of(message_id)
        if index is None:
            return
        if self._first_shown <= index < self._last_shown:
            self._focus(self.widgets[index - self._first_shown])
        else:
            self.show_messages(self.messages, focus=message_id)

    def sync(self, messages: list[Message]) -> None:
        """Bring the view up to date, rebuilding only what changed at the end."""
        common = 0
        for old, new in zip(self.messages, messages, strict=False):
            if old.id != new.id:
                break
            common += 1
        if common < self._first_shown or not self.messages or self._last_shown < len(self.messages):
            self.show_messages(messages)  # changed above the window, or a window mid-chat
            return
        for widget in self.widgets[common - self._first_shown :]:
            self._drop(widget)
        del self.widgets[common - self._first_shown :]
        self.messages = list(messages)
        self._last_shown = len(messages)
        for message in messages[common:]:
            self._append_widget(message)
        self._refresh_positions(messages[max(common - 1, self._first_shown) : common])
        self._update_extras()
        self._stick_bottom = True
        self.scroll_to_bottom()

    def load_earlier(self) -> None:
        """Create widgets for the previous batch; the anchor keeps the visible messages in
        place while they are laid out."""
        if self._first_shown == 0:
            return
        if self._anchor is None:
            self._set_anchor(self.verticalScrollBar().value())
        start = max(0, self._first_shown - BATCH)
        batch = [self._make_widget(m) for m in self.messages[start : self._first_shown]]
        for offset, widget in enumerate(batch):
            self._column.insertWidget(1 + offset, widget)
            widget.show()  # now, not on Qt's queued show: the layout below must count it
        self.widgets[0:0] = batch
        self._first_shown = start
        self._update_extras()
        self._settle()

    def load_later(self) -> None:
        """Create widgets for the next batch below (after a jump into the middle)."""
        if self._last_shown >= len(self.messages):
            return
        end = min(len(self.messages), self._last_shown + BATCH)
        for message in self.messages[self._last_shown : end]:
            self._append_widget(message)
        self._last_shown = end
        self._update_extras()
        self._settle()

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

    def start_reply(self, message_id: str) -> None:
        """A reply begins streaming into ``message_id`` (new, continued or branched)."""
        widget = self.widget_for(message_id)
        if widget is not None:
            widget.start_reply()

    def show_prompt_progress(
        self, message_id: str, evaluated: int, total: int, seconds_left: float | None
    ) -> None:
        """The reply waiting for a long prompt shows how much of it the engine has read."""
        widget = self.widget_for(message_id)
        if widget is not None:
            widget.show_prompt_progress(evaluated, total, seconds_left)

    def finish_message(self, message: Message, error: str | None = None) -> None:
        """Show a reply's final text, status line and error, if any."""
        widget = self.widget_for(message.id)
        if widget is None:
            return
        index = next((i for i, m in enumerate(self.messages) if m.id == message.id), None)
        if index is not None:
            self.messages[index] = message
        # Keep the streamed rendering (no second full render at the end of a reply); where a
        # long code block was drawn in pieces, settle() redraws only those, in later turns.
        widget.show_message(message, self._chat.context_note(message), streamed=True)
        widget.body.settle(self._renders.run if self._renders else None)
        widget.show_error(error.strip().split("\n", 1)[0] if error else None)
        widget.error_label.setToolTip(error or "")
        widget.show_citations(self._chat.passages(message))
        self.branch_shown.emit()

    def _branch(self, message: Message) -> None:
        """Copy the conversation up to ``message`` into a new one (the window opens it)."""
        self.branched.emit(self._chat.branch(message).id)

    def set_busy(self, busy: bool) -> None:
        """Disable regenerate/edit/branch buttons while a reply streams."""
        for widget in self.widgets:
            widget.set_busy(busy)

    def last_reply(self) -> Message | None:
        """The newest assistant message of the branch."""
        return next((m for m in reversed(self.messages) if m.role == "assistant"), None)

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
            self.column,
        )
        widget.regenerate.connect(self.regenerate)
        widget.continue_reply.connect(self.continue_reply)
        widget.resend.connect(self.resend)
        widget.switch_sibling.connect(self.switch_sibling)
        widget.copied.connect(self.copied)
        widget.tokens_toggled.connect(self.tokens_toggled)
        widget.branch.connect(self._branch)
        if message.role == "assistant":
            widget.show_citations(self._chat.passages(message))
        if message.role == "assistant" and message.status in ("error", "interrupted"):
            reason = message.error
            if reason or message.status == "error":
                reason = reason or "The reply failed before any text arrived."
                widget.show_error(reason.split("\n", 1)[0])
                widget.error_label.setToolTip(reason)
        return widget

    def _append_widget(self, message: Message) -> None:
        widget = self._make_widget(message)
        self._column.insertWidget(self._column.count() - 2, widget)  # above "later", stretch
        widget.show()
        self.widgets.append(widget)

    def _refresh_positions(self, messages: list[Message]) -> None:
        for message in messages:
            widget = self.widget_for(message.id)
            if widget is not None:
                widget.set_position(self._chat.sibling_position(message))

    def _clear(self) -> None:
        self._set_anchor_widget(None, 0)
        self.highlighted = None
        for widget in self.widgets:
            self._drop(widget)
        self.widgets = []
        self.messages = []
        self._first_shown = self._last_shown = 0

    def _index_of(self, message_id: str | None) -> int | None:
        if message_id is None:
            return None
        return next((i for i, m in enumerate(self.messages) if m.id == message_id), None)

    def _focus(self, widget: MessageWidget) -> None:
        """Anchor ``widget`` a little below the top edge and highlight it."""
        if self.highlighted is not None and self.highlighted is not widget:
            self.highlighted.setProperty("highlighted", False)
            repolish(self.highlighted)
        widget.setProperty("highlighted", True)  # the design's highlight rule
        repolish(widget)
        self.highlighted = widget
        self._stick_bottom = False
        self._set_anchor_widget(widget, FOCUS_OFFSET)
        self._settle()

    def _drop(self, widget: MessageWidget) -> None:
        if widget is self._anchor:
            self._set_anchor_widget(None, 0)
        self._column.removeWidget(widget)
        widget.hide()
        widget.deleteLater()

    def _update_extras(self) -> None:
        self._earlier.setVisible(self._first_shown > 0)
        self._earlier.setText(f"Show earlier messages ({self._first_shown} more)")
        later = len(self.messages) - self._last_shown
        self._later.setVisible(later > 0)
        self._later.setText(f"Show later messages ({later} more)")
        self._empty.setVisible(not self.messages)
        for widget in self.widgets:
            widget.set_pinned(widget is self.widgets[-1] and self._last_shown == len(self.messages))
        self.branch_shown.emit()

    def _on_focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        """Show the actions of the message that holds keyboard focus, hide the last one's."""
        before, after = self._message_of(old), self._message_of(new)
        if before is not after:
            if before is not None:
                before.set_focus_within(False)
            if after is not None:
                after.set_focus_within(True)

    def _message_of(self, widget: QWidget | None) -> MessageWidget | None:
        while widget is not None and not isinstance(widget, MessageWidget):
            widget = widget.parentWidget()
        return widget if widget is not None and widget.parentWidget() is self.column else None

    # -- scroll anchoring -----------------------------------------------------------
    def _set_anchor(self, value: int) -> None:
        """Anchor the first message whose bottom is below the top edge at scroll ``value``."""
        widget = next(
            (w for w in self.widgets if w.isVisible() and w.y() + w.height() > value), None
        )
        self._set_anchor_widget(widget, widget.y() - value if widget is not None else 0)

    def _set_anchor_widget(self, widget: MessageWidget | None, offset: int) -> None:
        if widget is not self._anchor:
            if self._anchor is not None:
                self._anchor.removeEventFilter(self)
            if widget is not None:
                widget.installEventFilter(self)
        self._anchor, self._anchor_offset = widget, offset

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The anchor moved or resized (the layout changed around it): keep it in place."""
        if watched is self._anchor and event.type() in (QEvent.Type.Move, QEvent.Type.Resize):
            self._restore_anchor()
        return super().eventFilter(watched, event)

    def _restore_anchor(self) -> None:
        if self._stick_bottom or self._anchor is None:
            return
        self._restoring = True
        try:
            self.verticalScrollBar().setValue(self._anchor.y() - self._anchor_offset)
        finally:
            self._restoring = False

    def _settle(self) -> None:
        """Lay out now and put the anchor (or the bottom) where it belongs; again once the
        event loop has run, as message bodies finish their own layout."""
        self._column.activate()
        self._restore_anchor()
        QTimer.singleShot(0, self._restore_anchor)

    def _on_scrolled(self, value: int) -> None:
        if self._restoring:
            return
        bar = self.verticalScrollBar()
        self._stick_bottom = value >= bar.maximum() - STICK_MARGIN and (
            self._last_shown >= len(self.messages)
        )
        self._set_anchor(value)
        if bar.maximum() <= 0 or self._loading:
            return
        if value <= bar.minimum() + LOAD_MARGIN and self._first_shown > 0:
            self._load_soon(self.load_earlier)
        elif value >= bar.maximum() - LOAD_MARGIN and self._last_shown < len(self.messages):
            self._load_soon(self.load_later)

    def _load_soon(self, load: Callable[[], None]) -> None:
        """Run one batch load after this scroll event (never two at once)."""
        self._loading = True

        def run() -> None:
            try:
                load()
            finally:
                self._loading = False

        QTimer.singleShot(0, run)

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick_bottom:
            self.verticalScrollBar().setValue(maximum)
        else:
            self._restore_anchor()


def render_worker(owner: QObject, background: Background | None) -> OrderedWorker | None:
    """The thread that renders finished replies (settle): started now, not when a reply
    ends (on a busy machine a thread start is a long wait); it ends with ``owner``."""
    if background is None:
        return None
    worker = OrderedWorker(background, "chatdesk-render")
    owner.destroyed.connect(lambda _gone: worker.close())
    return worker
