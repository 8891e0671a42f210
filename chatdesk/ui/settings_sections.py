"""The settings side panel: titled, collapsible sections in one column that scrolls
vertically only.

It replaced a dock of tabs whose titles a narrow panel cut to "C… M… Ap…" and whose pages
could scroll sideways. Sections come in a fixed order (``SECTION_ORDER``: Model, Sampling,
System prompt and examples, Tools, Documents, Reply format, then Appearance, Engines, API
server), whoever adds them and whenever: features add their own (``add_section``) after the
panel was built. A section's header is a button (Tab reaches it; Space folds the section)
named for screen readers. The column never gets a horizontal scroll bar: its fields wrap
under their labels, and in a small window the panel narrows (``GivesWay``) rather than
squeezing the chat and the sidebar.

Scrolling the column with the wheel never changes a setting: a spin box or combo box takes
the wheel only once it has focus (``WheelGuard``, watching every section's body, so fields a
feature adds later, or builds on first show, are guarded too); otherwise the wheel scrolls
the column.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QFrame,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.ui.theme import set_icon, set_look

SECTION_ORDER = (
    "Model",
    "Sampling",
    "System prompt and examples",
    "Tools",
    "Documents",
    "Reply format",
    "Appearance",
    "Engines",
    "API server",
)
MIN_WIDTH = 220  # the panel shrinks to this before the chat or the sidebar does
PREFERRED_WIDTH = 360
WINDOW_SHARE = 0.3


class SectionHeader(QToolButton):
    """A section's title button: bold, as wide as the panel, its title shortened with "…"
    (whole in the tooltip) when the panel is narrower than the title."""

    PADDING = 16

    def __init__(self, title: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.full_text = title
        self.setObjectName("sectionHeader")
        self.setText(title)
        self.setAccessibleName(f"{title} section")
        self.setToolTip(f"{title}: show or hide these settings")
        self.setCheckable(True)
        self.setAutoRaise(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        set_look(self, "section")

    def minimumSizeHint(self) -> QSize:
        """Narrow: the title is shortened rather than widening the panel."""
        return QSize(self.iconSize().width() + self.PADDING * 3, super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Shorten the title to the width there is."""
        room = self.width() - self.iconSize().width() - self.PADDING
        metrics = self.fontMetrics()
        self.setText(metrics.elidedText(self.full_text, Qt.TextElideMode.ElideRight, room))
        super().resizeEvent(event)


WHEEL_BOXES = (QAbstractSpinBox, QComboBox)


class WheelGuard(QObject):
    """Lets a spin box or combo box take the wheel only when it has focus: the wheel over
    an unfocused one scrolls the column instead of changing (and saving) its value.

    Watches section bodies: when one is shown, its boxes (including those built since) get
    Tab/click focus only (not wheel focus) and this filter."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Pass an unfocused box's wheel on to its parents; guard a shown body's boxes."""
        if event.type() == QEvent.Type.Wheel and isinstance(watched, WHEEL_BOXES):
            if not watched.hasFocus():
                event.ignore()  # Qt passes an ignored wheel event on to the parent
                return True
        elif event.type() == QEvent.Type.Show and isinstance(watched, QWidget):
            self.guard(watched)
        return super().eventFilter(watched, event)

    def guard(self, root: QWidget) -> None:
        """Guard every spin box and combo box under ``root``."""
        for box in root.findChildren(QWidget):
            if isinstance(box, WHEEL_BOXES) and box.property("wheelGuarded") is not True:
                box.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
                box.installEventFilter(self)
                box.setProperty("wheelGuarded", True)


class Section(QWidget):
    """A header button and the widgets under it; the header folds the section."""

    def __init__(self, title: str, parent: QWidget | None = None, expanded: bool = True) -> None:
        super().__init__(parent)
        self.title = title
        self.setObjectName("settingsSection")
        self.header = SectionHeader(title, self)
        self.body = QWidget(self)
        self.column = QVBoxLayout(self.body)
        self.column.setContentsMargins(8, 0, 0, 8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        self.header.toggled.connect(self.set_expanded)
        self.header.setChecked(expanded)
        self.set_expanded(expanded)

    def add(self, widget: QWidget, stretch: int = 0) -> QWidget:
        """Put ``widget`` at the end of the section."""
        self.column.addWidget(widget, stretch)
        return widget

    def set_expanded(self, expanded: bool) -> None:
        """Unfold (True) or fold the section."""
        self.header.setChecked(expanded)
        set_icon(self.header, "expand" if expanded else "collapsed")
        self.body.setVisible(expanded)

    def expanded(self) -> bool:
        """Whether the section is unfolded."""
        return self.header.isChecked()


class SectionColumn(QScrollArea):
    """Sections in ``SECTION_ORDER``, in a column that scrolls vertically only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the controls; the area
        content = QWidget(self)  # scrolls to the focused one
        content.setObjectName("settingsColumn")
        self.column = QVBoxLayout(content)
        self.column.setContentsMargins(8, 8, 8, 8)
        self.column.addStretch(1)
        self.setWidget(content)
        self._placed: list[tuple[int, QWidget]] = []  # (rank, widget) in column order
        self._watching = False
        self.wheel_guard = WheelGuard(self)

    def content(self) -> QWidget:
        """The widget that holds the column."""
        content = self.widget()
        assert content is not None
        return content

    def place(self, title: str, widget: QWidget) -> None:
        """Put ``widget`` (a section, or a widget holding the sections from ``title`` on)
        where ``title`` belongs in the order."""
        rank = SECTION_ORDER.index(title) if title in SECTION_ORDER else len(SECTION_ORDER)
        index = sum(1 for placed, _w in self._placed if placed <= rank)
        self._placed.insert(index, (rank, widget))
        self.column.insertWidget(index, widget)
        self._guard_wheel(widget)

    def _guard_wheel(self, widget: QWidget) -> None:
        """Guard ``widget``'s boxes now, and its sections' boxes whenever they are shown."""
        self.wheel_guard.guard(widget)
        for section in [widget, *widget.findChildren(Section)]:
            if isinstance(section, Section):
                section.body.installEventFilter(self.wheel_guard)

    def add_section(self, title: str, widget: QWidget, expanded: bool = True) -> Section:
        """A new section ``title`` holding ``widget``, in its place in the order."""
        section = Section(title, self.content(), expanded)
        section.add(widget)
        self.place(title, section)
        return section

    def sections(self) -> list[Section]:
        """Every section, top to bottom."""
        content = self.content()
        return sorted(content.findChildren(Section), key=lambda s: s.mapTo(content, QPoint()).y())

    def section(self, title: str) -> Section:
        """The section named ``title``."""
        return next(s for s in self.content().findChildren(Section) if s.title == title)

    def section_titles(self) -> list[str]:
        """The sections' titles in the order shown."""
        ranks = {title: rank for rank, title in enumerate(SECTION_ORDER)}
        found = [s.title for s in self.content().findChildren(Section)]
        return sorted(found, key=lambda t: ranks.get(t, len(ranks)))

    def focus_chain(self) -> list[QWidget]:
        """The panel's controls in reading order: each section's header, then its fields."""
        ranks = {title: rank for rank, title in enumerate(SECTION_ORDER)}
        sections = self.content().findChildren(Section)
        chain: list[QWidget] = []
        for section in sorted(sections, key=lambda s: ranks.get(s.title, len(ranks))):
            chain.append(section.header)
            body = section.body
            chain.extend(w for w in body.findChildren(QWidget) if takes_tab(w, body))
        return chain

    def show_section(self, title: str) -> None:
        """Unfold section ``title`` and scroll it into view."""
        section = self.section(title)
        section.set_expanded(True)
        self.ensureWidgetVisible(section.header)

    def sizeHint(self) -> QSize:
        """Narrow by default: the chat, not the panel, gets the room."""
        return QSize(PREFERRED_WIDTH, super().sizeHint().height())

    def showEvent(self, event: QShowEvent) -> None:
        """Follow the window's width from now on (``GivesWay``)."""
        if not self._watching and self.window() is not self:
            GivesWay(self.window(), self)
            self._watching = True
        super().showEvent(event)


class GivesWay(QObject):
    """Keeps a side panel to at most WINDOW_SHARE of its window's width (never under
    MIN_WIDTH): in a small window the panel narrows (its content wraps or scrolls down)
    rather than squeezing the chat and the sidebar."""

    def __init__(self, window: QWidget, panel: QWidget) -> None:
        super().__init__(panel)
        self.watched_window = window
        self.panel = panel
        window.installEventFilter(self)
        self.apply()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The window was resized: the panel's share follows."""
        if event.type() == QEvent.Type.Resize and watched is self.watched_window:
            self.apply()
        return super().eventFilter(watched, event)

    def apply(self) -> None:
        """Set the panel's widest width for the window's width now."""
        share = int(self.watched_window.width() * WINDOW_SHARE)
        self.panel.setMaximumWidth(max(MIN_WIDTH, share))


TAB_FOCUS = Qt.FocusPolicy.TabFocus.value  # compared as a number: an enum's & costs 10x more


def takes_tab(widget: QWidget, within: QWidget) -> bool:
    """A control Tab stops at: not a part of a compound control (a spin box's field, a
    combo box's list, a text box's scroll bars) and not in another window."""
    if not widget.focusPolicy().value & TAB_FOCUS or widget.window() is not within.window():
        return False
    parent = widget.parentWidget()
    while parent is not None and parent is not within:
        if isinstance(parent, QAbstractSpinBox | QComboBox | QAbstractScrollArea):
            return False
        parent = parent.parentWidget()
    return True
