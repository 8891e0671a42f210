"""Search results in the sidebar with the matched words highlighted.

The search service wraps each matched word of a snippet in two private-use characters
(``MARKS``),
which no message contains in practice and which survive as plain text; ``hit_html`` escapes
the title and snippet (they are user and model text) and turns the marks into a highlight.
``HitDelegate`` paints list items that carry such HTML (``HTML_ROLE``) with a QTextDocument,
and every other item as usual. A hit's height depends on the list's width (its text wraps),
so ``install`` has the list lay its rows out again whenever it is resized (rows kept their
old heights and overlapped once the window got narrower).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from chatdesk.services.conversations import SEARCH_MARKS

MARKS = SEARCH_MARKS
HTML_ROLE = Qt.ItemDataRole.UserRole + 10
MATCH_START = '<span style="background-color: #ffd54f; color: #1a1a1a; font-weight: 600;">'
Index = QModelIndex | QPersistentModelIndex


def hit_html(title: str, snippet: str) -> str:
    """The title in bold, the snippet below it with each matched word highlighted."""
    text = html.escape(" ".join(snippet.split()))
    text = text.replace(MARKS[0], MATCH_START).replace(MARKS[1], "</span>")
    return f"<b>{html.escape(title)}</b><br>{text}"


def plain_text(snippet: str) -> str:
    """The snippet without marks, on one line (tooltips, accessibility)."""
    return " ".join(snippet.replace(MARKS[0], "").replace(MARKS[1], "").split())


class HitDelegate(QStyledItemDelegate):
    """Paints items with ``HTML_ROLE`` as rich text (wrapped to the list's width)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        """Rich text for hits, the default look for everything else."""
        markup = index.data(HTML_ROLE)
        if not markup:
            super().paint(painter, option, index)
            return
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else None
        option.text = ""
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        document = self._document(str(markup), option.rect.width())
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        context.palette.setColor(QPalette.ColorRole.Text, option.palette.color(role))
        painter.save()
        painter.translate(option.rect.topLeft())
        painter.setClipRect(QRectF(0, 0, option.rect.width(), option.rect.height()))
        document.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        """Tall enough for the wrapped title and snippet."""
        markup = index.data(HTML_ROLE)
        if not markup:
            return super().sizeHint(option, index)
        width = option.rect.width() if option.rect.width() > 0 else 240
        document = self._document(str(markup), width)
        return QSize(width, int(document.size().height()) + 2)

    def _document(self, markup: str, width: int) -> QTextDocument:
        document = QTextDocument()
        document.setDocumentMargin(4)
        document.setHtml(markup)
        document.setTextWidth(max(40, width))
        return document


def install(list_view: QListView) -> HitDelegate:
    """Give a list view the hit delegate (kept alive by its parent); rows are measured
    again at each resize, so re-wrapped hits get their new heights."""
    delegate = HitDelegate(list_view)
    list_view.setItemDelegate(delegate)
    list_view.setResizeMode(QListView.ResizeMode.Adjust)
    return delegate
