"""Replies the store refused (a full disk, a locked or read-only database): say so, retry.

The turn service keeps such a reply in memory (``Turn.save_error``, ``TurnService.unsaved``);
this helper tells the user once with the reason and the file, retries the save every
SAVE_RETRY_MS, and redraws the reply from the database and says so once it is saved.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from chatdesk.services.turns import Turn, TurnService
from chatdesk.ui.notice_bar import NoticeBar

SAVE_RETRY_MS = 2000


class UnsavedReplies(QObject):
    """The window's side of a reply the disk refused."""

    def __init__(
        self, turns: TurnService, notice: NoticeBar, redraw: Callable[[Turn], None]
    ) -> None:
        super().__init__(notice)
        self._turns, self._notice, self._redraw = turns, notice, redraw
        self._timer = QTimer(self, interval=SAVE_RETRY_MS)
        self._timer.timeout.connect(self._retry)

    def warn(self, turn: Turn) -> None:
        """Say why the reply is not saved (once per reason); retry once it has ended."""
        if turn.save_error and turn.save_error not in self._notice.label.text():
            self._notice.show_notice(
                f"{turn.save_error}. The reply is kept in memory and will be saved as soon as "
                "there is room again.",
                details=turn.save_error,
            )
        if turn.finished and not self._timer.isActive():
            self._timer.start()

    def _retry(self) -> None:
        pending = list(self._turns.unsaved.values())
        if not self._turns.retry_unsaved():
            return
        self._timer.stop()
        for turn in pending:
            self._redraw(turn)
        self._notice.show_notice("The reply is saved now.")
