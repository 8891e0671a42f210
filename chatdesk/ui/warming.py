"""Warms the open conversation in the engine while the user reads and types.

Opening a conversation (once it stayed open ``OPEN_DELAY_MS``), the end of each reply and
every pause in typing (``WARM_DELAY_MS`` after the last keystroke), asks the turn service
to warm it
(chatdesk/services/warming.py): the engine host restores or re-reads the conversation and
evaluates what was typed in the background, so Send evaluates only the last words (or, after
a finished sentence, one token). The request is built on the GUI thread (a few store reads)
and sent at once; its answer is not waited for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from chatdesk.services.turns import TurnService
from chatdesk.services.warming import warm_conversation

log = logging.getLogger("chatdesk.ui")

WARM_DELAY_MS = 350  # a pause in typing this long warms the words typed so far
OPEN_DELAY_MS = 250  # an opened conversation stayed open this long: warm it (browsing the
# list with the arrow keys does not make the host save and restore every conversation)


class ConversationWarmer:
    """Debounced calls of ``warm_conversation`` for the window's open conversation."""

    def __init__(
        self,
        turns: TurnService,
        conversation: Callable[[], str | None],
        draft: Callable[[], str],
        parent: QObject,
    ) -> None:
        self.turns = turns
        self.conversation = conversation
        self.draft = draft
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.warm_now)

    def soon(self, delay_ms: int = WARM_DELAY_MS) -> None:
        """Warm once nothing else happened for ``delay_ms``."""
        self._timer.start(delay_ms)

    def warm_now(self) -> None:
        """Ask the engine to warm the open conversation with the draft's settled words."""
        cid = self.conversation()
        if cid is None:
            return
        try:
            warm_conversation(self.turns, cid, self.draft())
        except Exception:  # a hint only: a failure here must never reach the user
            log.debug("warming %s failed", cid, exc_info=True)
