"""The sources under a reply: its ``[1]``, ``[2]`` as links with file name and page.

Hovering a link shows the passage's label and a snippet; clicking opens the file with the
system's viewer (``file://...#page=N`` for a PDF page, which viewers that understand it
open at that page). Only passages that were given to the model and that the reply cites
are shown (``chatdesk.docs.citations``); file names are escaped, never rendered as HTML.
The list is a collapsible section, "Sources (N)", closed at first like reasoning and tool
calls (the reply's ``[1]`` markers say a source is there). When the system cannot open the
file (no viewer for it, or no launcher at all), a line under the links says so and gives
the file's path, which can be selected and copied.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QCursor, QDesktopServices
from PySide6.QtWidgets import QLabel, QToolButton, QToolTip, QVBoxLayout, QWidget

from chatdesk.docs.citations import cited, file_url, snippet
from chatdesk.docs.records import Passage
from chatdesk.ui.theme import section_toggle

Opener = Callable[[QUrl], bool]


class CitationsBar(QWidget):
    """``Sources: [1] report.pdf, page 2 · [2] notes.md, lines 4-9`` under a reply."""

    toggle: QToolButton
    label: QLabel
    failure: QLabel  # "Could not open ...", shown when opening a source failed

    def __init__(self, parent: QWidget | None = None, opener: Opener | None = None) -> None:
        super().__init__(parent)
        self.opener: Opener = opener or QDesktopServices.openUrl
        self.passages: list[Passage] = []
        self._built = False  # the section is built for the first reply that cites something
        self.hide()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.toggle = section_toggle("Sources", self)
        self.toggle.setAccessibleName("Sources")
        layout.addWidget(self.toggle)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Sources")
        self.label.setOpenExternalLinks(False)
        self.label.linkActivated.connect(self._open)
        self.label.linkHovered.connect(self._hover)
        self.label.setVisible(False)
        self.toggle.toggled.connect(self.label.setVisible)
        layout.addWidget(self.label)
        self.failure = QLabel(self, wordWrap=True)
        self.failure.setTextFormat(Qt.TextFormat.PlainText)  # the path is text, not HTML
        self.failure.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.failure.hide()
        layout.addWidget(self.failure)
        self._built = True

    def show_citations(self, reply: str, passages: Sequence[Passage]) -> None:
        """Show the passages the reply cites (hidden when it cites none)."""
        self.passages = cited(reply, passages)
        links = [
            f'<a href="cite:{p.number}">[{p.number}] {html.escape(p.label)}</a>'
            for p in self.passages
        ]
        if links and not self._built:
            self._build()
        if self._built:
            self.label.setText(" · ".join(links))
            self.failure.hide()
            self.toggle.setText(f"Sources ({len(links)})")
        self.setVisible(bool(links))

    def passage(self, link: str) -> Passage | None:
        """The passage a ``cite:N`` link stands for."""
        number = link.removeprefix("cite:")
        return next((p for p in self.passages if str(p.number) == number), None)

    def tooltip_for(self, link: str) -> str:
        """What hovering a link shows: label, then the snippet."""
        found = self.passage(link)
        return "" if found is None else f"{found.label}\n\n{snippet(found)}"

    def _hover(self, link: str) -> None:
        text = self.tooltip_for(link)
        if text:
            QToolTip.showText(QCursor.pos(), text, self.label)
        else:
            QToolTip.hideText()

    def _open(self, link: str) -> None:
        """Open the source's file; say so, with its path, when the system cannot."""
        found = self.passage(link)
        if found is None:
            return
        opened = self.opener(QUrl(file_url(found)))
        self.failure.setText(f"Could not open {found.file}: no program here opens it.")
        self.failure.setVisible(not opened)
