"""The text of one message: a read-only, self-sizing QTextBrowser that never loads anything.

It is as tall as its text (never a vertical scroll bar); code lines are not wrapped, so a
message whose code is wider than the column gets a horizontal scroll bar. A long code block
is drawn in pieces (tables that join without a gap); strips painted behind the document
(code_strips) give the narrower pieces the width of the widest, so it scrolls as one block.

Model output is untrusted: ``loadResource`` returns nothing for every URL (no images, no file:
or http: fetches), links are not followed inside the widget and open in the system browser
only when clicked, and "copy-code:N" links copy a code block.

No content may block or crash the window. A text is inserted in pieces (streaming_split): the
first SYNC_WEIGHT at once, the rest by one shared RenderQueue that spends at most TICK_S per
event-loop turn, so a huge message never stalls the loop. A message over PLAIN_ABOVE
characters is shown as plain text with a "Render as Markdown" link; a piece that fails to
render (any exception, RecursionError included) turns the message into plain text with a
note saying why.

A streaming reply is drawn in frames (``show_streaming``): the new finished pieces are
inserted once and only the tail is redone. In the window a frame's HTML is made at once and
put in the document in the next turn of the event loop, so a keystroke or a paint can come
in between (issue 25: on a busy machine each half is a block of its own). A finished
streamed reply is then ``settle``d to what a whole render draws (streamed_pieces).
"""

from __future__ import annotations

import html
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import shiboken6
from PySide6.QtCore import QObject, QRectF, QSize, QSizeF, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

from chatdesk.ui.bridge import Runner
from chatdesk.ui.code_strips import code_strips
from chatdesk.ui.rendering import COPY_CODE_SCHEME, MarkdownRenderer
from chatdesk.ui.streamed_pieces import (
    Settled,
    Span,
    blocks_at,
    join_blocks,
    settle_plan,
    settle_work,
)
from chatdesk.ui.streaming_split import PIECE_WEIGHT, Cut, next_cuts, next_piece, weight

EXTERNAL_SCHEMES = frozenset({"http", "https", "mailto"})
RENDER_MARKDOWN_SCHEME = "render-markdown"
SYNC_WEIGHT = 2 * PIECE_WEIGHT  # drawn before show_* returns; the rest through the queue
PLAIN_ABOVE = 100_000  # longer messages are plain text until the user asks for Markdown
PIECE_CHARS = 4_000  # plain text is inserted in chunks of this size
TICK_S = 0.012  # queue work per event-loop turn, all messages together


class RenderQueue(QObject):
    """Renders the remaining pieces of every message, a time slice per event-loop turn."""

    _instance: RenderQueue | None = None

    def __init__(self) -> None:
        super().__init__()
        self._bodies: list[MessageBody] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)

    @classmethod
    def shared(cls) -> RenderQueue:
        """The one queue of the application."""
        if cls._instance is None or not shiboken6.isValid(cls._instance):
            cls._instance = cls()
        return cls._instance

    def add(self, body: MessageBody) -> None:
        """Render ``body``'s pending pieces in later turns of the event loop."""
        if all(queued is not body for queued in self._bodies):
            self._bodies.append(body)
        self._timer.start()

    def _tick(self) -> None:
        deadline = time.perf_counter() + TICK_S
        for body in list(self._bodies):
            if not shiboken6.isValid(body) or body.render_pending(deadline):
                self._bodies = [queued for queued in self._bodies if queued is not body]
            if time.perf_counter() >= deadline:
                break
        if self._bodies:
            self._timer.start()


class MessageBody(QTextBrowser):
    """Rendered Markdown (or plain text) that grows to fit its content."""

    copy_code = Signal(str)

    def __init__(self, renderer: MarkdownRenderer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._renderer = renderer
        self._code_blocks: tuple[str, ...] = ()
        self._source = ""
        self._pending: deque[Callable[[], int]] = deque()  # steps; each returns its weight
        self._stable_text = ""
        self._stable_end = 0
        self._cut = Cut()
        self._stream_blocks: list[str] = []
        self._spans: list[Span] = []  # the kept pieces of a streamed reply, in order
        self._prepared: list[str] = []  # HTML of the pieces settle() will put in place
        self._streamed = False  # drawn by show_streaming since the last reset
        self._fit_held = 0  # inside _one_fit: the height is fitted when it ends
        self._generation = 0  # counts resets (a settle's result must be for this text)
        self._settling = False  # a worker renders the pieces settle() will put in place
        self._plain_stream = False  # streaming after a render failure: text is appended
        self._frame: list[tuple[str, Cut, int, tuple[int, int]]] = []  # pieces to put in
        self._frame_tail: str | None = None  # and the tail after them (show_streaming)
        self._after_frame: Callable[[], None] | None = None  # a settle waiting for them
        self._apply_ms = 0.0  # the last frame's time in the document (last_render_ms)
        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.setInterval(0)
        self._frame_timer.timeout.connect(self._apply_frame)
        self._strips_key: object = None  # what the painted code strips were found for
        self._strips: list[tuple[QRectF, str]] = []
        self.note = ""  # why the message is shown as plain text, if it is
        self.last_render_ms = 0.0
        self.pieced = False  # a long code block was streamed in pieces (redraw it whole)
        self.setObjectName("messageBody")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Code lines are not wrapped: a message with a wide code block scrolls sideways.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.document().setDocumentMargin(2)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.anchorClicked.connect(self._on_anchor)

    # -- content ------------------------------------------------------------------
    def show_markdown(self, text: str, force: bool = False) -> None:
        """Render a whole message (finished replies); a huge one is plain unless ``force``."""
        started = time.perf_counter()
        self._reset(text)
        if len(text) > PLAIN_ABOVE and not force:
            link = f'<a href="{RENDER_MARKDOWN_SCHEME}:">Render as Markdown</a>'
            self._queue_plain(
                text, f"This message is {size_text(len(text))}: shown as plain text. {link}"
            )
        else:
            self._queue_markdown(text)
        self._run_sync(started)

    def show_plain(self, text: str) -> None:
        """Show a user's message as typed."""
        started = time.perf_counter()
        self._reset(text)
        self._queue_plain(text, "")
        self._run_sync(started)

    def show_streaming(self, text: str, defer: bool = False) -> None:
        """Render a growing reply: finished pieces are inserted once, only the tail is redone.

        With ``defer`` the pieces' HTML is made now and put in the document in the next turn
        of the event loop (a keystroke or paint in between: half the block on a busy
        machine); calls before then add to that one frame.
        """
        started = time.perf_counter()
        if self._plain_stream:
            with self._one_fit():
                self._append_plain(text)
        else:
            self._stream(text, defer)
        self.last_render_ms = (time.perf_counter() - started) * 1000 + self._apply_ms

    @property
    def rendering(self) -> bool:
        """True while pieces of the message are still waiting to be drawn."""
        return bool(self._pending) or self._settling or self._frame_timer.isActive()

    @property
    def code_blocks(self) -> tuple[str, ...]:
        """Raw text of each code block, in order."""
        return self._code_blocks

    # -- pieces -------------------------------------------------------------------
    def _queue_markdown(self, text: str) -> None:
        self._pending.append(partial(self._add_piece, text, Cut()))

    def _add_piece(self, text: str, after: Cut) -> int:
        """Draw the next piece of a whole message; queue the one after it."""
        piece, end = next_piece(text, after)
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self._insert(cursor, piece, keep=True, continues=after.opener)
        if end.position < len(text):
            self._pending.appendleft(partial(self._add_piece, text, end))
        return weight(piece, 0, len(piece))

    def _queue_plain(self, text: str, note: str) -> None:
        self._pending.clear()
        if note:
            self._pending.append(partial(self._insert_note, note))
        for chunk in plain_chunks(text):
            self._pending.append(partial(self._insert_text, chunk))

    def _insert_note(self, note: str) -> int:
        self.note = note
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertHtml(f"<p><i>{note}</i></p>")
        return len(note)

    def _insert_text(self, text: str) -> int:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if cursor.block().text():  # after the note, or a chunk that ended inside a line
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        cursor.insertText(text, QTextCharFormat())
        return len(text)

    def _append_plain(self, text: str) -> None:
        shown = len(self._source)
        self._source = text
        if len(text) > shown:
            added = text[shown:]
            self._pending.append(partial(self._insert_text, added))
            RenderQueue.shared().add(self)

    def _run_sync(self, started: float) -> None:
        """Draw the first SYNC_WEIGHT now; the rest goes to the shared queue."""
        drawn = 0
        with self._one_fit():
            while self._pending and drawn < SYNC_WEIGHT:
                drawn += self._guard(self._pending.popleft())
        if self._pending:
            RenderQueue.shared().add(self)
        self.last_render_ms = (time.perf_counter() - started) * 1000

    def render_pending(self, deadline: float) -> bool:
        """Draw queued pieces until ``deadline`` (at least one); True when none are left."""
        with self._one_fit():
            while self._pending:
                self._guard(self._pending.popleft())
                if time.perf_counter() >= deadline:
                    break
        return not self._pending

    def _guard(self, action: Callable[[], object]) -> int:
        """Run one rendering step (its weight); a failure shows the message as plain text."""
        try:
            done = action()
            return done if isinstance(done, int) else 0
        except Exception as error:  # any content must still be shown
            reason = html.escape(f"{type(error).__name__}: {error}"[:200])
            self._reset(self._source)
            self._plain_stream = True
            self._queue_plain(
                self._source,
                f"This message could not be shown as Markdown ({reason}); shown as plain text.",
            )
            RenderQueue.shared().add(self)
            return PIECE_WEIGHT

    # -- settling a streamed reply -------------------------------------------------
    def settle(self, run: Runner | None = None) -> None:
        """Make a finished streamed reply's document what ``show_markdown`` draws.

        Streaming cuts a long code block every CODE_CHUNK_LINES lines, a whole message every
        WHOLE_CODE_LINES (both also by weight); the pieces before the first cut that differs
        are kept, the HTML of the rest is rendered (Markdown and highlighting: the costly
        part) by ``run`` on a worker thread, else a piece per event-loop turn, while the
        streamed text stays in view; then the streamed rest is cut and the new pieces put in
        place, as many per event-loop turn as the queue's time slice allows.
        """
        if self._frame_timer.isActive():  # after the last frame is in the document
            self._after_frame = partial(self.settle, run)
            return
        if not self._streamed or self._plain_stream or self.note or self._pending:
            return
        if len(self._source) > PLAIN_ABOVE:  # as before: a whole (plain) render if pieced
            if self.pieced:
                self.show_markdown(self._source)
            return
        self.pieced = self._streamed = False
        text, spans, cut = self._source, tuple(self._spans), self._cut
        if run is None:
            plan = settle_plan(text, spans, cut)
            if plan is not None:
                self._queue_settle(text, *plan)
            else:
                self._spans = []
            return
        palette, generation, self._settling = self._renderer.palette, self._generation, True
        blocks = tuple(self._stream_blocks)
        run(
            lambda: settle_work(palette, text, spans, cut, blocks),
            partial(self._settled, generation),
            lambda _error: self._settle_failed(generation),
        )

    def _queue_settle(self, text: str, kept: int, start: Cut) -> None:
        """Render the pieces from ``start`` on a piece per turn; ``kept`` streamed ones stay."""
        self._stream_blocks = list(blocks_at(self._stream_blocks, self._spans, kept))
        keep_end = self._spans[kept - 1].doc_end if kept else 0
        self._pending.append(partial(self._prepare, text, start, keep_end))
        RenderQueue.shared().add(self)

    def _settled(self, generation: int, result: Settled | None) -> None:
        """The worker's pieces (None: the streamed ones stand): put them in place."""
        if not shiboken6.isValid(self) or generation != self._generation:
            return  # the message was redrawn or closed meanwhile
        self._settling = False
        if result is None:
            self._spans = []  # the streamed pieces stand; their record is not needed
        else:
            kept, (self._prepared, blocks) = result
            self._stream_blocks = list(blocks)
            keep_end = self._spans[kept - 1].doc_end if kept else 0
            self._queue_swap(keep_end)
            RenderQueue.shared().add(self)

    def _settle_failed(self, generation: int) -> None:
        """The worker failed: a whole render instead (which shows any failure as plain)."""
        if shiboken6.isValid(self) and generation == self._generation:
            self._settling = False
            self.show_markdown(self._source)

    def _prepare(self, text: str, after: Cut, keep_end: int) -> int:
        """Render the next piece's HTML aside; after the last, queue the swap."""
        piece, end = next_piece(text, after)
        self._prepared.append(self._render_piece(piece, True, after.opener))
        if end.position < len(text):
            self._pending.appendleft(partial(self._prepare, text, end, keep_end))
        else:
            self._queue_swap(keep_end)
        return weight(piece, 0, len(piece))

    def _queue_swap(self, keep_end: int) -> None:
        """Next in the queue: cut the streamed pieces after ``keep_end``, then insert the
        prepared ones, as many per event-loop turn as its time slice allows."""
        steps = [partial(self._insert_prepared, html_piece) for html_piece in self._prepared]
        self._pending.extendleft(reversed([partial(self._cut_streamed, keep_end), *steps]))
        self._pending.append(self._swapped)

    def _cut_streamed(self, keep_end: int) -> int:
        _cut_after(self.document(), keep_end)
        return 0

    def _insert_prepared(self, html_piece: str) -> int:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        _put(cursor, html_piece)
        return len(html_piece)

    def _swapped(self) -> int:
        self._prepared, self._spans = [], []
        self._code_blocks = tuple(self._stream_blocks)
        # Streaming more into it (as after show_markdown) redraws it from the start.
        self._stable_text, self._stable_end, self._cut, self._stream_blocks = "", 0, Cut(), []
        return 0

    def _blocks(self) -> tuple[int, int]:
        return len(self._stream_blocks), len(self._stream_blocks[-1]) if self._stream_blocks else 0

    # -- streaming ----------------------------------------------------------------
    def _stream(self, text: str, defer: bool) -> None:
        if not text.startswith(self._stable_text) or self._pending or self._settling or self.note:
            self._reset(text)
        self._guard(lambda: self._prepare_frame(text))
        if self._plain_stream:  # the render failed: the text is shown plain
            return
        if defer:
            self._frame_timer.start()
        else:
            self._apply_frame()

    def _prepare_frame(self, text: str) -> None:
        """The HTML of the new finished pieces (added to those not yet put in place) and of
        the new tail; nothing in the document changes yet."""
        self._source = text
        self._streamed = True
        for cut in next_cuts(text, self._cut):
            piece = text[self._cut.position : cut.position]
            html_piece = self._render_piece(piece, True, self._cut.opener)
            self._frame.append((html_piece, self._cut, cut.position, self._blocks()))
            self._cut = cut
        self._stable_text = text[: self._cut.position]
        tail = text[self._cut.position :]
        self._frame_tail = None
        if tail.strip():
            self._frame_tail = self._render_piece(tail, False, self._cut.opener)
        else:
            self._code_blocks = tuple(self._stream_blocks)

    def _apply_frame(self) -> None:
        """Put the prepared frame in place of the old tail, in one step; then a settle that
        waited for it."""
        self._frame_timer.stop()
        started = time.perf_counter()
        with self._one_fit():
            self._guard(self._put_frame)
        self._apply_ms = (time.perf_counter() - started) * 1000
        after, self._after_frame = self._after_frame, None
        if after is not None:
            after()

    def _put_frame(self) -> None:
        cursor = _cut_after(self.document(), self._stable_end)
        for html_piece, start, end, code in self._frame:
            _put(cursor, html_piece)
            self._spans.append(Span(start, end, cursor.position(), code))
        self._frame = []
        self._stable_end = cursor.position()
        if self._frame_tail is not None:
            _put(cursor, self._frame_tail)
            self._frame_tail = None

    def _insert(self, cursor: QTextCursor, text: str, keep: bool, continues: str | None) -> None:
        """Render one piece at the cursor; a piece that continues a code block extends it."""
        _put(cursor, self._render_piece(text, keep, continues))

    def _render_piece(self, text: str, keep: bool, continues: str | None) -> str:
        """One piece's HTML; its code blocks join the message's (only a kept piece's stay)."""
        rendered = self._renderer.render(text, len(self._stream_blocks), continues)
        blocks = join_blocks(self._stream_blocks, rendered.code_blocks, continues)
        self.pieced |= continues is not None and keep
        if keep:
            self._stream_blocks = blocks
        self._code_blocks = tuple(blocks)
        return rendered.html

    def _reset(self, text: str) -> None:
        self._generation += 1  # a settle still on its way is dropped
        self._settling = False
        self.document().clear()
        self._source = text
        self._pending.clear()
        self._stable_text = ""
        self._stable_end = 0
        self._cut = Cut()
        self._stream_blocks = []
        self._spans = []
        self._prepared = []
        self._frame, self._frame_tail, self._after_frame = [], None, None
        self._frame_timer.stop()
        self._streamed = False
        self._code_blocks = ()
        self._plain_stream = False
        self.note = ""
        self.pieced = False

    # -- safety -------------------------------------------------------------------
    def loadResource(self, type: int, name: QUrl | str) -> object:
        """Nothing is ever loaded for untrusted content: no images, files or network."""
        del type, name
        return None

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == COPY_CODE_SCHEME:
            index = int(url.path()) if url.path().isdigit() else -1
            if 0 <= index < len(self._code_blocks):
                self.copy_code.emit(self._code_blocks[index])
        elif url.scheme() == RENDER_MARKDOWN_SCHEME:
            self.show_markdown(self._source, force=True)
        elif url.scheme() in EXTERNAL_SCHEMES:
            QDesktopServices.openUrl(url)

    # -- painting and sizing -------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        """The document, over strips that give a long code block's pieces one width."""
        strips = self._code_strips()
        if strips:
            painter = QPainter(self.viewport())
            painter.translate(
                -self.horizontalScrollBar().value(), -self.verticalScrollBar().value()
            )
            for strip, colour in strips:
                painter.fillRect(strip, QColor(colour))
            painter.end()
        super().paintEvent(event)

    def _code_strips(self) -> list[tuple[QRectF, str]]:
        """code_strips, found again only when the document, its size or the palette changed
        (a paint, on every scroll, would otherwise walk every table of a long message)."""
        document, palette = self.document(), self._renderer.palette
        key = (document.revision(), document.size(), document.textWidth(), palette)
        if key != self._strips_key:
            self._strips_key, self._strips = key, code_strips(document, palette)
        return self._strips

    def resizeEvent(self, event: QResizeEvent) -> None:
        """QTextEdit re-wraps when the width changes; then match the height to the text."""
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._fit_height()

    @contextmanager
    def _one_fit(self) -> Iterator[None]:
        """Edits inside are fitted once at the end: one relayout of the chat, not one for
        each removal and piece (each is a resize of the whole column of messages)."""
        self._fit_held += 1
        try:
            yield
        finally:
            self._fit_held -= 1
            self._fit_height()

    def _fit_height(self, size: QSizeF | None = None) -> None:
        if self._fit_held:
            return
        size = size if size is not None else self.document().size()
        wanted = int(size.height()) + 2 * self.frameWidth() + 2
        if size.width() > self.viewport().width():  # a wide code block: room for the bar
            wanted += self.horizontalScrollBar().sizeHint().height()
        if wanted != self.height():
            self.setFixedHeight(wanted)

    def sizeHint(self) -> QSize:
        """Whatever width the layout gives, as tall as the text."""
        return QSize(super().sizeHint().width(), self.height())


def _cut_after(document: QTextDocument, position: int) -> QTextCursor:
    """Remove everything after ``position``; the block left there keeps its own format
    (Qt gives it the removed last block's: a list item, and the next piece would join it)."""
    cursor = QTextCursor(document)
    cursor.setPosition(position)
    kept, in_list = cursor.blockFormat(), cursor.currentList() is not None
    cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
    cursor.removeSelectedText()
    joined = cursor.currentList()
    if joined is not None and not in_list:
        joined.remove(cursor.block())
    cursor.setBlockFormat(kept)
    return cursor


def _put(cursor: QTextCursor, html_piece: str) -> None:
    """Insert one rendered piece at the cursor, as a block of its own (a plain one: a block
    made after a list item would join the list, and a paragraph after a list with it)."""
    if cursor.position() > 0 and not _after_frame(cursor):
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    cursor.insertHtml(html_piece)


def _after_frame(cursor: QTextCursor) -> bool:
    """True in the empty block Qt keeps after a table: a piece goes there, not one further
    down (an empty line under every table that ends a piece)."""
    block = cursor.block()
    previous = block.previous()
    return (
        not block.text() and previous.isValid() and QTextCursor(previous).currentTable() is not None
    )


def plain_chunks(text: str) -> list[str]:
    """A text in chunks of at most PIECE_CHARS, cut after a line end where there is one."""
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = start + PIECE_CHARS
        newline = text.rfind("\n", start, end)
        end = newline + 1 if newline > start and end < len(text) else end
        chunks.append(text[start:end])
        start = end
    return chunks


def size_text(chars: int) -> str:
    """A message size for people: "120 KB", "1.0 MB" (characters, about bytes)."""
    return f"{chars / 1_000_000:.1f} MB" if chars >= 1_000_000 else f"{chars // 1000} KB"
