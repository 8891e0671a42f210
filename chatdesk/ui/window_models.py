"""The main window's models: the picker, loading and reloading, the library and remote
engines scanned off the GUI thread, the offer to load a conversation's own model, and what
the top bar, notice bar and settings show of the loaded model.

A mixin of ``MainWindow`` (split out to keep the window module small); it uses only the
window attributes declared below.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QStackedWidget, QWidget

from chatdesk.paths import data_root
from chatdesk.services.app_services import AppServices
from chatdesk.services.engine_session import ModelState
from chatdesk.services.model_choices import initial_model, model_choices, scan_library
from chatdesk.services.turns import TurnService
from chatdesk.services.types import Conversation
from chatdesk.ui.bridge import Background
from chatdesk.ui.chat_view import ChatView
from chatdesk.ui.file_actions import FileActions
from chatdesk.ui.message_widget import ElidedLabel
from chatdesk.ui.model_picker import ModelPicker
from chatdesk.ui.notice_bar import NoticeBar
from chatdesk.ui.remote_tabs import model_label
from chatdesk.ui.settings_panel import SettingsPanel
from chatdesk.ui.welcome import EmptyChat, WelcomePage


class ModelsMixin:
    """The loaded model, as a window with a model picker shows and changes it."""

    services: AppServices
    turns: TurnService
    notice: NoticeBar
    pages: QStackedWidget
    welcome: WelcomePage
    empty_chat: EmptyChat
    chat_view: ChatView
    settings_panel: SettingsPanel
    picker: ModelPicker
    background: Background
    model_status: ElidedLabel
    files: FileActions
    _busy_action: QWidget
    _library: dict[str, str]
    _remote: dict[str, list[str]]
    _model_offered: set[str]
    _load_from_welcome: bool
    _picker_filled_for: str | None

    def _update_model_ui(self) -> None:
        """What the window shows of the model's state (the window's own method)."""
        raise NotImplementedError

    def refresh_models(self, select_initial: bool = False) -> None:
        """Fill the model picker; at start, load the last used model (or the only one)."""
        settings = self.services.settings
        choices = model_choices(settings, self._library, self._remote)
        current = self.services.engine.status.path
        selected = initial_model(settings, choices) if select_initial else current
        self.picker.set_choices(choices, selected)
        self._picker_filled_for = current
        if select_initial and selected:
            self.load_model(selected)
        else:
            self._update_model_ui()

    def rescan_library(self) -> None:
        """Look for local models again, off the GUI thread."""
        root = data_root()  # now: a test may point CHATDESK_HOME elsewhere before it runs
        self.background.run(lambda: scan_library(root), self._library_scanned)
        self.rescan_remote()

    def rescan_remote(self) -> None:
        """Ask every remote engine for its models, off the GUI thread."""
        if self.services.remote_engines.engines():
            self.background.run(self.services.remote_engines.all_models, self._remote_scanned)
        elif self._remote:
            self._remote_scanned({})

    def _remote_scanned(self, remote: dict[str, list[str]]) -> None:
        self._remote = remote
        self.refresh_models()

    def _library_scanned(self, library: dict[str, str]) -> None:
        self._library = library
        untouched = self.services.engine.status.state is ModelState.NONE
        self.refresh_models(select_initial=untouched)

    def load_model(self, path: str) -> None:
        """Load a model file in the engine host (the window stays responsive)."""
        if self.turns.streaming:
            self.notice.show_notice("Stop the reply before switching models.")
            self.refresh_models()
            return
        self._load_from_welcome = self.pages.currentWidget() is self.welcome
        self.services.engine.load(path)
        self.settings_panel.model.show_model(path)

    def reload_model(self) -> None:
        """Load the current model again (after a crash or new load settings)."""
        path = self.services.engine.status.path or self.picker.selected_path()
        if path:
            self.load_model(path)

    def _offer_conversation_model(self, conversation: Conversation) -> None:
        """The conversation was written with another model that is on disk: load or offer it."""
        path, engine = conversation.model, self.services.engine
        remote = self.services.remote_engines.is_available(path or "")
        if not path or path == engine.status.path or not (remote or Path(path).is_file()):
            return
        if engine.status.state is ModelState.LOADING or self.turns.streaming:
            return
        policy = self.services.settings.conversation_model_policy()
        if policy == "always":
            self.load_model(path)
        elif policy == "ask" and path not in self._model_offered:
            self._model_offered.add(path)
            self.notice.show_notice(
                f"This conversation was written with {model_label(path)}.",
                "Load it",
                lambda: self.load_model(path),
            )

    def unload_model(self) -> None:
        """Free the model's memory."""
        self.services.engine.unload()
        self._update_model_ui()

    def _update_page(self) -> None:
        """The chat; an empty one shows the welcome page (no model yet) or the empty chat
        (the model's name and example prompts)."""
        no_model = self.services.engine.status.state in (ModelState.NONE, ModelState.FAILED)
        page: QWidget = self.chat_view
        if not self.chat_view.messages:
            page = self.welcome if no_model else self.empty_chat
        self.pages.setCurrentWidget(page)
