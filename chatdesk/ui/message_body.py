"""The text of one message: a read-only, self-sizing QTextBrowser that never loads anything.

Model output is untrusted: ``loadResource`` returns nothing for every URL (no images, no file:
or http: fetches), links are not followed inside the widget and open in the system browser
only when clicked, and "copy-code:N" links copy a code block.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QSize, QSizeF, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QResizeEvent, QTextCursor
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

from chatdesk.markdown_fences import open_fence
from chatdesk.ui.rendering import COPY_CODE_SCHEME, MarkdownRenderer, Rendered
from chatdesk.ui.streaming_split import split_stable

EXTERNAL_SCHEMES = frozenset({"http", "https", "mailto"})


class MessageBody(QTextBrowser):
    """Rendered Markdown (or plain text) that grows to fit its content."""

    copy_code = Signal(str)

    def __init__(self, renderer: MarkdownRenderer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._renderer = renderer
        self._code_blocks: tuple[str, ...] = ()
        self._stable_text = ""
        self._stable_end = 0
        self._stream_blocks: list[str] = []
        self.last_render_ms = 0.0
        self.pieced = False  # a long code block was streamed in pieces (redraw it whole)
        self.setObjectName("messageBody")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.document().setDocumentMargin(2)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.anchorClicked.connect(self._on_anchor)

    # -- content ------------------------------------------------------------------
    def show_markdown(self, text: str) -> None:
        """Render a whole message at once (finished replies)."""
        self._apply(self._renderer.render(text))

    def show_plain(self, text: str) -> None:
        """Show a user's message as typed."""
        self._apply(self._renderer.render_plain(text))

    def show_streaming(self, text: str) -> None:
        """Render a growing reply: finished blocks are inserted once, only the tail is redone."""
        started = time.perf_counter()
        stable, tail = split_stable(text)
        if not stable.startswith(self._stable_text) or (not self._stable_text and self._stable_end):
            self._reset_stream()
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._stable_end)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        if len(stable) > len(self._stable_text):
            added = stable[len(self._stable_text) :]
            self._insert(cursor, added, keep=True, continues=open_fence(self._stable_text))
            self._stable_text = stable
            self._stable_end = cursor.position()
        if tail.strip():
            self._insert(cursor, tail, keep=False, continues=open_fence(stable))
        else:
            self._code_blocks = tuple(self._stream_blocks)
        self.last_render_ms = (time.perf_counter() - started) * 1000

    def _insert(self, cursor: QTextCursor, text: str, keep: bool, continues: str | None) -> None:
        """Render one piece at the cursor; a piece that continues a code block extends it."""
        first_index = len(self._stream_blocks)
        rendered = self._renderer.render(text, first_index, continues)
        if cursor.position() > 0:
            cursor.insertBlock()
        cursor.insertHtml(rendered.html)
        blocks = list(self._stream_blocks)
        new = list(rendered.code_blocks)
        self.pieced |= continues is not None and keep
        if continues is not None and new and blocks:
            blocks[-1] += new.pop(0)
        if keep:
            self._stream_blocks = blocks + new
        self._code_blocks = tuple(blocks + new)

    def _reset_stream(self) -> None:
        self.document().clear()
        self._stable_text = ""
        self._stable_end = 0
        self._stream_blocks = []
        self.pieced = False

    def _apply(self, rendered: Rendered) -> None:
        started = time.perf_counter()
        self._reset_stream()
        self._code_blocks = rendered.code_blocks
        self.setHtml(rendered.html)
        self.last_render_ms = (time.perf_counter() - started) * 1000

    @property
    def code_blocks(self) -> tuple[str, ...]:
        """Raw text of each code block, in order."""
        return self._code_blocks

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
        elif url.scheme() in EXTERNAL_SCHEMES:
            QDesktopServices.openUrl(url)

    # -- sizing -------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        """QTextEdit re-wraps when the width changes; then match the height to the text."""
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._fit_height()

    def _fit_height(self, size: QSizeF | None = None) -> None:
        height = size.height() if size is not None else self.document().size().height()
        wanted = int(height) + 2 * self.frameWidth() + 2
        if wanted != self.height():
            self.setFixedHeight(wanted)

    def sizeHint(self) -> QSize:
        """Whatever width the layout gives, as tall as the text."""
        return QSize(super().sizeHint().width(), self.height())
