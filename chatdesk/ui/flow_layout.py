"""A layout that places widgets left to right and wraps onto more lines when narrow.

Qt has no flow layout of its own (its documentation ships one as an example); this one
follows that design: ``heightForWidth`` tells the parent how tall the lines are at a given
width, and the minimum width is the widest single item, so a row of many buttons never
forces its container (a message in the chat) wider than the room it has. An item wider
than a line is given the line's width (an eliding label shortens itself).

``heightForWidth`` is cached per width until Qt invalidates the layout (an item added,
shown, hidden or resized), as Qt's own box layouts do: every relayout of the chat column
(each streamed chunk grows the reply) asks every message's footer row for its height, and
measuring it again in Python each time was a large share of the GUI thread's work while a
reply streamed into a long conversation (issue 25).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    """Items in reading order, wrapped to the width available."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._heights: dict[int, int] = {}  # heightForWidth by width, until invalidated
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)
        self._heights.clear()

    def invalidate(self) -> None:
        self._heights.clear()
        super().invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        self._heights.clear()
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        height = self._heights.get(width)
        if height is None:
            height = self._heights[width] = self._arrange(QRect(0, 0, width, 0), move=False)
        return height

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        """Everything on one line."""
        shown = [preferred(item) for item in self._items if not item.isEmpty()]
        width = sum(s.width() for s in shown) + self.spacing() * max(len(shown) - 1, 0)
        return QSize(width, max((s.height() for s in shown), default=0))

    def minimumSize(self) -> QSize:
        """The widest single item: the rest wraps."""
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _arrange(self, rect: QRect, move: bool) -> int:
        """Place (or only measure) the items in ``rect``; the height they take."""
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            if item.isEmpty():
                continue
            hint = preferred(item)
            width = min(hint.width(), rect.width())
            if x > rect.x() and x + width > rect.right() + 1:
                x, y, line = rect.x(), y + line + self.spacing(), 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), QSize(width, hint.height())))
            x += width + self.spacing()
            line = max(line, hint.height())
        return y + line - rect.y()


def preferred(item: QLayoutItem) -> QSize:
    """An item's preferred size: its widget's own hint, even where the size policy tells other
    layouts to ignore it (an eliding label), within its minimum and maximum."""
    widget = item.widget()
    hint = widget.sizeHint() if widget is not None else item.sizeHint()
    return hint.expandedTo(item.minimumSize()).boundedTo(item.maximumSize())
