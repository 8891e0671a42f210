"""Icon buttons for the window's actions, and re-tinting them when the palette changes.

Every action of the window (top bar, sidebar, composer, panels) is a button built by
``icon_button``: the action's icon from ``chatdesk.ui.icons``, a tooltip that names its
shortcut, an accessible name (screen readers read the name, not the picture) and a keyboard
focus policy, so Tab reaches it. ``theme.set_icon`` keeps the icon's action name on the
button (a Qt property): every icon button, the messages' too, so ``retint`` can draw each
icon again in the new palette's colours when the theme changes (``icons.icon`` caches
each tint, so a switch back costs nothing).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import QAbstractButton, QPushButton, QSizePolicy, QToolButton, QWidget

from chatdesk.ui import theme
from chatdesk.ui.icons import icon


def icon_button(
    parent: QWidget,
    action: str,
    name: str,
    shortcut: str = "",
    *,
    checkable: bool = False,
    text: str = "",
) -> QToolButton:
    """The design system's icon button (``theme.icon_button``: ``name`` is its accessible
    name and, with ``shortcut``, its tooltip), remembered for ``retint``; checkable, and
    with ``text`` beside the icon, when asked."""
    button = theme.icon_button(action, name, shortcut, parent)
    button.setCheckable(checkable)
    if text:
        button.setText(text)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return button


def retint(root: QObject) -> None:
    """Draw every remembered icon under ``root`` again in the current palette."""
    targets: list[QAbstractButton | QAction] = [
        *root.findChildren(QAbstractButton),
        *root.findChildren(QAction),
    ]
    for target in targets:
        action = target.property(theme.ICON_PROPERTY)
        if isinstance(action, str) and action:
            target.setIcon(icon(action))


class ElidedButton(QPushButton):
    """A push button that shortens its text with "…" when narrower than it (a narrow panel
    or window), instead of widening its column or cutting the text; the whole text is its
    tooltip and accessible name, and ``full_text`` keeps it."""

    PADDING = 32  # the style's margins and border around a push button's text

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.full_text = text
        self.setAccessibleName(text)
        self.setToolTip(text)
        self.setMinimumWidth(self.PADDING + self.fontMetrics().horizontalAdvance("Mm…"))
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        """As wide as the whole text."""
        hint = super().sizeHint()
        width = self.fontMetrics().horizontalAdvance(self.full_text) + self.PADDING
        return QSize(max(hint.width(), width), hint.height())

    def minimumSizeHint(self) -> QSize:
        """Any width down to the minimum: the text is shortened."""
        return QSize(self.minimumWidth(), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Shorten the text to the new width."""
        width = self.width() - self.PADDING
        metrics = self.fontMetrics()
        self.setText(metrics.elidedText(self.full_text, Qt.TextElideMode.ElideRight, width))
        super().resizeEvent(event)
