"""The pieces of one long code block keep one width when the message scrolls sideways.

A long code block is drawn as several tables, one per piece (streaming_split cuts it; the
renderer joins the pieces without a gap). A table is as wide as its widest line, so a piece
holding a line wider than the message is wider than the other pieces, and a block scrolled
sideways would show the other pieces' background ending early. ``code_strips`` finds, in
the laid-out document, each run of code tables that touch (the pieces of one block) and
the strips right of the narrower ones up to the widest; ``MessageBody`` paints them in the
code background behind the document. The document itself is not changed (its HTML stays
what a render from scratch makes), and a message no wider than its column costs nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QTextDocument, QTextFormat, QTextTable, QTextTableCell

from chatdesk.ui.rendering import Palette

TOP = QTextFormat.Property.TableCellTopPadding
BOTTOM = QTextFormat.Property.TableCellBottomPadding


def code_strips(document: QTextDocument, palette: Palette) -> list[tuple[QRectF, str]]:
    """Strips (document coordinates, colour) that widen each code piece to the widest of
    its block: the background, and the rule under a header."""
    if document.size().width() <= document.textWidth():
        return []  # no line is wider than the message: every piece is as wide as it
    strips: list[tuple[QRectF, str]] = []
    for run in _runs(document, QColor(palette.code_background).name()):
        right = max(rect.right() for rect, _rule in run)
        for rect, rule in run:
            if rect.right() < right:
                strips.append(
                    (
                        QRectF(rect.right(), rect.top(), right - rect.right(), rect.height()),
                        palette.code_background,
                    )
                )
                if rule is not None:
                    strips.append(
                        (QRectF(rect.right(), rule, right - rect.right(), 1), palette.code_rule)
                    )
    return strips


def _runs(document: QTextDocument, background: str) -> list[list[tuple[QRectF, float | None]]]:
    """The code tables' painted rectangles (and where a header's rule is), in runs of
    tables that touch."""
    runs: list[list[tuple[QRectF, float | None]]] = []
    for frame in document.rootFrame().childFrames():
        if not isinstance(frame, QTextTable):
            continue
        if frame.format().background().color().name() != background:
            continue
        rect = _painted(document, frame, 0, frame.rows() - 1)
        rule = _painted(document, frame, 0, 0).bottom() if frame.rows() > 1 else None
        if runs and abs(runs[-1][-1][0].bottom() - rect.top()) < 0.5:
            runs[-1].append((rect, rule))
        else:
            runs.append([(rect, rule)])
    return runs


def _painted(document: QTextDocument, table: QTextTable, first_row: int, last_row: int) -> QRectF:
    """Where a table's rows are painted: from the top of the first to the bottom of the
    last (paddings included), as wide as its frame (which Qt reports a cell padding to the
    right)."""
    layout = document.documentLayout()
    frame = layout.frameBoundingRect(table)
    first, last = table.cellAt(first_row, 0), table.cellAt(last_row, 0)
    top = layout.blockBoundingRect(document.findBlock(first.firstPosition())).top()
    bottom = layout.blockBoundingRect(document.findBlock(last.lastPosition())).bottom()
    top -= _padding(table, first, TOP)
    bottom += _padding(table, last, BOTTOM)
    return QRectF(frame.left() - table.format().cellPadding(), top, frame.width(), bottom - top)


def _padding(table: QTextTable, cell: QTextTableCell, side: QTextFormat.Property) -> float:
    """A cell's padding on one side: its own (a seam's 0), else the table's."""
    own = cell.format()
    return own.doubleProperty(side) if own.hasProperty(side) else table.format().cellPadding()
