"""Token probabilities and few-shot examples in the main window.

- View > "Keep token probabilities" turns them on for new replies (the service's app
  setting; 10 alternatives per token).
- A reply's "Tokens" button swaps its text for a ``TokenPanel``: the ``TokenView`` of its
  stored probabilities and an "Explore temperature..." button that opens the
  ``TemperatureExplorer`` on the selected token (sliders start at the reply's settings).
  Clicking an alternative starts a new branch that continues from it (the reply's sibling
  navigation shows it). A reply with none stored (imported, say) gets a wrapping note
  instead, which asks to turn the setting on only when it is off.
- The settings panel's conversation section gets an ``ExamplesEditor`` (collapsed) under
  the system prompt; applying a preset also applies its examples.

Everything goes through ``AppServices.probabilities`` (``TokenProbabilityFeature``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.engine.types import Alternative, TokenChoice
from chatdesk.probabilities.reshape import Shaping
from chatdesk.services.settings import SettingsError
from chatdesk.services.token_probabilities import DEFAULT_ALTERNATIVES
from chatdesk.services.types import Message
from chatdesk.ui.examples_editor import ExamplesEditor
from chatdesk.ui.message_widget import MessageWidget
from chatdesk.ui.temperature_explorer import TemperatureExplorer
from chatdesk.ui.token_view import TokenView

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow

NO_PROBABILITIES = (
    "This reply has no token probabilities stored (it was imported, or made while Keep "
    "token probabilities was off, or they were left out)."
)
TURN_ON = " Turn on View > Keep token probabilities, then regenerate it to see them."
REGENERATE = " Regenerate it to see them."


def no_probabilities_note(keeping: bool, parent: QWidget) -> QLabel:
    """Why a reply shows no tokens, and what gives them: the setting is not asked for again
    when it is already on (an imported reply, say)."""
    note = QLabel(NO_PROBABILITIES + (REGENERATE if keeping else TURN_ON), parent)
    note.setWordWrap(True)  # the reply's width, not one long line off its edge
    return note


def shaping_of(message: Message) -> Shaping:
    """The sampler settings a reply was generated with (defaults where missing)."""
    settings = message.settings
    return Shaping(
        float(settings.get("temperature", 1.0)),
        int(settings.get("top_k", 0)),
        float(settings.get("top_p", 1.0)),
        float(settings.get("min_p", 0.0)),
    )


class TokenPanel(QWidget):
    """A reply's token view, plus the way into the temperature explorer."""

    def __init__(self, message: Message, choices: list[TokenChoice], parent: QWidget) -> None:
        super().__init__(parent)
        self.message = message
        self.view = TokenView(self)
        self.view.set_choices(choices)
        self.explore_button = QPushButton("Explore temperature...", self)
        self.explore_button.setEnabled(False)
        self.explore_button.clicked.connect(self.explore)
        self.view.token_selected.connect(lambda _i: self.explore_button.setEnabled(True))
        self.explorer: QDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        layout.addWidget(self.explore_button)

    def explore(self) -> None:
        """Open the temperature explorer on the selected token."""
        if self.view.selected is None:
            return
        dialog = QDialog(self)
        dialog.setWindowTitle("Temperature explorer")
        explorer = TemperatureExplorer(dialog)
        explorer.set_shaping(shaping_of(self.message))
        explorer.set_choice(self.view.choices[self.view.selected])
        QVBoxLayout(dialog).addWidget(explorer)
        self.explorer = dialog
        dialog.show()


class TokenActions(QObject):
    """Connects the window's widgets to the token-probability and examples services."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.feature = window.services.probabilities
        self.keep_action: QAction | None = None
        window.chat_view.tokens_toggled.connect(self.toggle_tokens)
        conversation = window.settings_panel.conversation
        self.examples = ExamplesEditor(conversation)
        conversation.add_below_prompt(self.examples)
        self.examples.examples_changed.connect(self.save_examples)
        conversation.preset_applied.connect(self.apply_preset_examples)
        conversation.preset_saved.connect(self.save_preset_examples)

    def add_menu_entries(self, menu: QMenu) -> None:
        """View > Keep token probabilities (checkable)."""
        action = QAction("Keep token probabilities", self.window)
        action.setCheckable(True)
        action.setChecked(self.feature.alternatives() > 0)
        action.setToolTip("Keep each token's probability and alternatives for new replies")
        action.toggled.connect(
            lambda on: self.feature.set_alternatives(DEFAULT_ALTERNATIVES if on else 0)
        )
        menu.addAction(action)
        self.keep_action = action

    # -- token view -------------------------------------------------------------------------
    def toggle_tokens(self, widget: MessageWidget, checked: bool) -> None:
        """Show a reply's tokens in place of its text, or its text again."""
        if not checked:
            widget.set_token_view(None)
            return
        choices = self.feature.choices(widget.message.id)
        if not choices:
            keeping = self.feature.alternatives() > 0
            widget.set_token_view(no_probabilities_note(keeping, widget))
            return
        panel = TokenPanel(widget.message, choices, widget)
        panel.view.alternative_chosen.connect(
            lambda index, alternative: self.branch(widget.message, index, alternative)
        )
        widget.set_token_view(panel)

    def branch(self, reply: Message, index: int, alternative: Alternative) -> None:
        """Start a new branch of ``reply`` that continues from ``alternative``."""
        window = self.window
        extras = window.tools.extras()  # offered tools: a call in the branch runs (approved)
        window._run_turn(
            lambda: self.feature.branch(window.turns, reply, index, alternative, extras)
        )

    # -- examples ---------------------------------------------------------------------------
    def show_conversation(self, conversation_id: str | None) -> None:
        """Show the open conversation's examples in the editor."""
        pairs = self.feature.examples(conversation_id) if conversation_id else []
        self.examples.set_examples(pairs)

    def save_examples(self, pairs: list[dict[str, str]]) -> None:
        """Store edited examples on the open conversation."""
        cid = self.window.conversation_id
        if cid is None:
            return
        try:
            self.feature.set_examples(cid, pairs)
        except SettingsError as error:
            self.window.notice.show_notice(str(error))

    def save_preset_examples(self, name: str) -> None:
        """A preset was saved from the panel: it keeps the conversation's examples too."""
        settings = self.window.services.settings
        preset = settings.preset(name)
        settings.save_preset(name, preset.settings, preset.system_prompt, self.examples.examples())

    def apply_preset_examples(self, name: str) -> None:
        """After a preset was applied: its examples replace the conversation's."""
        try:
            preset = self.window.services.settings.preset(name)
        except KeyError:
            return
        pairs = [dict(pair) for pair in preset.examples]
        self.examples.set_examples(pairs)
        self.save_examples(pairs)
