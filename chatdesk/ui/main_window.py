"""The main window: top bar, sidebar, chat view, composer, side panels, menus.

Nothing polls the engine. The services report through callbacks that the window's
``EventBridge`` (``chatdesk.ui.bridge``) delivers on the GUI thread as Qt signals: a reply
started, grew, finished; an engine event arrived; the model's state changed. The growing
reply is re-rendered behind the bridge's ``Throttle`` (at most 30 times a second, and never
more than half the time spent rendering). Blocking work (library scan, prompt rendering,
document retrieval before a reply) runs off the GUI thread (``Background``, the turn's
``offload``). Closing the window disconnects it from the services. A one-second check of
the database's ``data_version`` refreshes the sidebar when another process (the command
line) changed the conversations.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.app_services import AppServices
from chatdesk.services.documents_turn import ERROR_KEY
from chatdesk.services.engine_session import ModelState
from chatdesk.services.events import in_thread
from chatdesk.services.turns import ChatError, Turn
from chatdesk.services.types import Message, StoreError
from chatdesk.ui.bridge import Background, EventBridge, RecentInput, Throttle, TurnSignals
from chatdesk.ui.chat_view import ChatView
from chatdesk.ui.composer import Composer
from chatdesk.ui.conversation_list import ConversationList
from chatdesk.ui.documents_dock import DocumentsDock, document_drops
from chatdesk.ui.file_actions import FileActions, gguf_from_urls
from chatdesk.ui.icon_buttons import retint
from chatdesk.ui.modal import run_modal
from chatdesk.ui.model_picker import describe_model
from chatdesk.ui.notice_bar import NoticeBar
from chatdesk.ui.rendering import MarkdownRenderer
from chatdesk.ui.reply_format import ReplyFormatActions
from chatdesk.ui.settings_panel import SettingsPanel
from chatdesk.ui.sidebar import Sidebar
from chatdesk.ui.token_actions import TokenActions
from chatdesk.ui.tool_actions import ToolActions
from chatdesk.ui.unsaved_replies import UnsavedReplies
from chatdesk.ui.warming import OPEN_DELAY_MS, ConversationWarmer
from chatdesk.ui.welcome import EmptyChat, WelcomePage
from chatdesk.ui.window_appearance import AppearanceMixin
from chatdesk.ui.window_hooks import connect_new_user, first_line, model_feedback
from chatdesk.ui.window_menus import build_menus
from chatdesk.ui.window_models import ModelsMixin
from chatdesk.ui.window_navigation import ConversationNavigation
from chatdesk.ui.window_panels import MessagesInOrder, install_panels, set_tab_order
from chatdesk.ui.window_topbar import context_of, install_top_bar

MIN_RENDER_INTERVAL_S = 1 / 30
TYPING_HOLD_MS = 120  # a streaming reply is redrawn this long after the last keystroke...
MAX_HOLD_MS = 300  # ...but at least this often (issue 25: the window under load)
EXTERNAL_CHECK_MS = 1000
APP_TITLE = "ChatDesk"  # Qt adds the application's display name to every window title


class MainWindow(AppearanceMixin, ModelsMixin, QMainWindow):
    """Everything a user sees, wired to the services."""

    # set by window_topbar.install_top_bar and window_panels.install_panels
    toolbar: QToolBar
    busy: QProgressBar
    dock: QDockWidget
    documents_dock: DocumentsDock
    settings_panel: SettingsPanel

    def __init__(self, services: AppServices, app: QApplication) -> None:
        super().__init__()
        self.services = services
        self.app = app
        self.chat = services.chat
        self.turns = services.turns
        self.conversation_id: str | None = None
        self.stop_action: QAction | None = None
        self._library: dict[str, str] = {}
        self._remote: dict[str, list[str]] = {}  # remote engine -> its model ids
        self._model_offered: set[str] = set()
        self._load_from_welcome = False
        self._picker_filled_for: str | None = None  # the loaded model the picker was filled for
        self.bridge = EventBridge(self)
        self.typing = RecentInput(TYPING_HOLD_MS)  # redraws of a reply wait for keystrokes
        self.background = Background(self.bridge)
        self._turn_signals = TurnSignals(self.bridge)
        services.set_dispatch(self.bridge.dispatch, offload=in_thread)
        services.turns.add_listener(self._turn_signals)
        services.turns.add_event_hook(self._turn_signals.turn_event)
        services.engine.add_listener(self.bridge.model_status)
        self.setObjectName("mainWindow")
        self.setWindowTitle("")
        self.setAcceptDrops(True)
        self.renderer = MarkdownRenderer(self._apply_appearance())
        self.files = FileActions(self)
        self.tools = ToolActions(self)
        self._build()
        self.tools.connect_toggle()
        self.tokens = TokenActions(self)
        self.reply_format = ReplyFormatActions(self)
        self.navigation = ConversationNavigation(self)
        self.settings_panel.appearance.show_values(*self._appearance())
        build_menus(self)
        set_tab_order(self)  # after the features added their sections
        self.messages_in_order = MessagesInOrder(self)
        self._render = Throttle(
            self._render_now, 1000 * MIN_RENDER_INTERVAL_S, self, self.typing, MAX_HOLD_MS
        )
        self._external = QTimer(self, interval=EXTERNAL_CHECK_MS)
        self._external.timeout.connect(self._check_external_changes)
        self._external.start()
        self.unsaved = UnsavedReplies(self.turns, self.notice, self._redraw_saved)
        self._restore()

    # -- building -----------------------------------------------------------------
    def _build(self) -> None:
        self.sidebar = Sidebar(self)
        self.chat_view = ChatView(self.chat, self.renderer, self, self.background)
        self.composer = Composer(self)
        self.notice = NoticeBar(self)
        self.welcome = WelcomePage(self, self.background)
        self.empty_chat = EmptyChat(self)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.empty_chat)
        self.pages.addWidget(self.chat_view)
        right = QWidget(self)
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.notice)
        column.addWidget(self.pages, 1)
        column.addWidget(self.composer)
        self.splitter = QSplitter(self)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 740])
        self.setCentralWidget(self.splitter)
        self.top = install_top_bar(self)
        self._busy_action = self.busy  # shown while a model loads
        install_panels(self)
        self._connect()

    def _connect(self) -> None:
        self.conversations = ConversationList(self)
        self.sidebar.open_conversation.connect(  # the list keeps the focus (Delete works)
            lambda cid, mid: self.open_conversation(cid, mid, focus_composer=False)
        )
        self.sidebar.new_chat.connect(self.new_chat)
        self.composer.send.connect(self.send)
        self.composer.stop.connect(self.stop)
        self.warmer = ConversationWarmer(  # issue 25: switching back costs nothing
            self.turns, lambda: self.conversation_id, self.composer.text.toPlainText, self
        )
        self.composer.text.textChanged.connect(self.warmer.soon)
        self.bridge.turn_finished.connect(lambda _turn: self.warmer.soon())  # a cut's read
        self.composer.text.textChanged.connect(self.typing.touch)
        v = self.chat_view
        v.regenerate.connect(self.regenerate)
        v.continue_reply.connect(
            lambda m: self._run_turn(lambda: self.turns.continue_reply(m, self.tools.extras()))
        )
        v.resend.connect(self.edit_and_resend)
        v.switch_sibling.connect(self.switch_sibling)
        v.branch_shown.connect(self._show_context)  # the meter follows the shown branch
        v.copied.connect(lambda _t: self.statusBar().showMessage("Copied", 2000))
        v.branched.connect(lambda _cid: self.refresh_sidebar())  # then open the branch:
        v.branched.connect(self.open_conversation)
        self.bridge.turn_text.connect(self._on_turn_text)
        self.bridge.turn_finished.connect(self._finish_reply)
        self.bridge.model_changed.connect(lambda _status: self._update_model_ui())
        self.picker.model_chosen.connect(self.load_model)
        self.picker.open_file.connect(self.files.open_gguf_file)
        self.welcome.open_file.connect(self.files.open_gguf_file)
        self.welcome.open_models.connect(self.open_models_dialog)
        self.empty_chat.prompt_chosen.connect(self.send_example)
        connect_new_user(self)
        panel = self.settings_panel
        panel.conversation.changed.connect(self._save_conversation_settings)
        panel.model.reload_requested.connect(self.reload_model)
        panel.appearance.theme_changed.connect(self._set_theme)
        panel.appearance.font_size_changed.connect(self._set_font_size)

    # -- start and stop -----------------------------------------------------------
    def _restore(self) -> None:
        settings = self.services.settings
        self.dock.setVisible(bool(settings.ui_value("settings_visible", False)))
        self.set_sidebar_visible(bool(settings.ui_value("sidebar_visible", True)))
        splitter = settings.ui_value("splitter")
        if isinstance(splitter, str) and splitter:
            self.splitter.restoreState(QByteArray.fromBase64(splitter.encode()))
        geometry = settings.ui_value("geometry")
        if isinstance(geometry, str) and geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode()))
        else:
            self.resize(1180, 760)
        self.refresh_sidebar()
        last = settings.ui_value("last_conversation")
        if not self._open_existing(last):
            conversations = self.services.conversations.page(1)
            if conversations:
                self.open_conversation(conversations[0].id)
            else:
                self.new_chat()
        self.refresh_models(select_initial=True)
        self.rescan_library()

    def _open_existing(self, cid: object) -> bool:
        if not isinstance(cid, str) or self.services.conversations.get(cid) is None:
            return False
        self.open_conversation(cid)
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the window state, finish pending work and stop the engine host."""
        self.settings_panel.conversation.flush()
        if self.turns.streaming:
            self.turns.stop()
            deadline = time.monotonic() + 2
            while self.turns.streaming and time.monotonic() < deadline:
                self.app.processEvents()  # the bridge delivers the reply's last events
                time.sleep(0.01)
        self.conversations.commit_delete()
        settings = self.services.settings
        settings.set_ui_value("geometry", bytes(self.saveGeometry().toBase64().data()).decode())
        settings.set_ui_value(
            "splitter", bytes(self.splitter.saveState().toBase64().data()).decode()
        )
        settings.set_ui_value("settings_visible", self.dock.isVisible())
        settings.set_ui_value("sidebar_visible", not self.sidebar.isHidden())
        settings.set_ui_value("last_conversation", self.conversation_id)
        self.navigation.save()
        self._external.stop()
        self._render.cancel()
        self.background.close()
        self.documents_dock.panel.cancel()  # indexing stops; the next start resumes it
        self.turns.remove_listener(self._turn_signals)
        self.turns.remove_event_hook(self._turn_signals.turn_event)
        self.services.engine.remove_listener(self.bridge.model_status)
        self.services.engine.close()
        super().closeEvent(event)

    # -- conversations ------------------------------------------------------------
    def refresh_sidebar(self) -> None:
        """Reload the conversation list (or the search results)."""
        self.conversations.refresh()

    def open_conversation(
        self, cid: str, message_id: str | None = None, focus_composer: bool = True
    ) -> None:
        """Show a conversation (and, from a search hit, the message that matched)."""
        self.settings_panel.conversation.flush()
        conversation = self.services.conversations.get(cid)
        if conversation is None:
            return
        self.navigation.leave(self.conversation_id)
        self.navigation.enter(cid)
        self.conversation_id = cid
        if message_id is not None and all(m.id != message_id for m in self.chat.messages(cid)):
            self.services.conversations.set_active_leaf(cid, message_id)
        self.chat_view.show_messages(self.chat.messages(cid), focus=message_id)
        self.services.settings.set_ui_value("last_conversation", cid)  # restored after a crash
        self.settings_panel.conversation.show_settings(
            conversation.system_prompt, conversation.settings
        )
        self.tokens.show_conversation(cid)
        self.reply_format.show_conversation(cid)
        self.sidebar.select(cid)
        self.documents_dock.show_for(cid)
        self.setWindowTitle(conversation.title)  # shown as "Title — ChatDesk"
        self._update_page()
        self._sync_streaming_ui()
        self._offer_conversation_model(conversation)
        self.warmer.soon(OPEN_DELAY_MS)
        if focus_composer:
            self.composer.focus()

    def new_chat(self) -> None:
        """Start a new conversation (reusing the open one if it is still empty)."""
        if self.conversation_id is not None and not self.chat_view.messages:
            self.composer.focus()
            return
        conversation = self.services.conversations.empty_conversation()
        conversation = conversation or self.turns.new_conversation()
        self.refresh_sidebar()
        self.open_conversation(conversation.id)

    def conversation_renamed(self, cid: str, title: str) -> None:
        """Keep the window title in step with an inline rename."""
        if cid == self.conversation_id:
            self.setWindowTitle(title)

    def conversation_gone(self, cid: str) -> None:
        """The open conversation was deleted: show the newest other one (or a new chat)."""
        self.conversation_id = None
        others = [c for c in self.services.conversations.page(2) if c.id != cid]
        if others:
            self.open_conversation(others[0].id)
        else:
            self.new_chat()

    def focus_search(self) -> None:
        """Ctrl+F: jump to the search box (showing the sidebar if it was hidden)."""
        self.set_sidebar_visible(True)
        self.conversations.focus_search()

    def set_sidebar_visible(self, visible: bool) -> None:
        """Show or hide the conversations (the top bar's button, Ctrl+B)."""
        self.sidebar.setVisible(visible)
        self.top.sidebar_button.setChecked(visible)

    # -- chatting -----------------------------------------------------------------
    def send(self, text: str) -> None:
        """Send the composer's text and start streaming the reply."""
        if self.conversation_id is None:
            self.new_chat()
        assert self.conversation_id is not None
        self.settings_panel.conversation.flush()
        cid = self.conversation_id
        if self._run_turn(lambda: self.turns.send(cid, text, self.tools.extras())):
            self.composer.clear()
            self.composer.focus()

    def send_example(self, text: str) -> None:
        """An example prompt clicked on the empty chat: into the composer, then sent."""
        self.composer.text.setPlainText(text)
        self.send(text)

    def regenerate(self, message: Message) -> None:
        """Another reply to the same user message (a new sibling)."""
        self._run_turn(lambda: self.turns.regenerate(message, self.tools.extras()))

    def edit_and_resend(self, message: Message, text: str) -> None:
        """A new branch from an edited user message."""
        self._run_turn(lambda: self.turns.edit_and_resend(message, text, self.tools.extras()))

    def switch_sibling(self, message: Message, step: int) -> None:
        """Show another version of a message (< 2/3 >)."""
        if self.chat.switch_sibling(message, step) and self.conversation_id is not None:
            self.chat_view.sync(self.chat.messages(self.conversation_id))

    def stop(self) -> None:
        """Stop the reply being written (Stop button, Esc)."""
        self.turns.stop()

    def copy_last_reply(self) -> None:
        """Ctrl+Shift+C: the newest reply to the clipboard."""
        reply = self.chat_view.last_reply()
        if reply is not None:
            turn = self.turns.current
            streaming = turn is not None and turn.message_id == reply.id
            QGuiApplication.clipboard().setText(turn.text if streaming and turn else reply.content)
            self.statusBar().showMessage("Last reply copied", 2000)

    def _can_generate(self) -> bool:
        state = self.services.engine.status.state
        if state is ModelState.READY:
            return True
        if state is ModelState.LOADING:
            self.notice.show_notice("The model is still loading; try again in a moment.")
        elif state is ModelState.DIED:
            self.notice.show_notice(
                "The engine stopped. Reload the model to continue.",
                "Reload model",
                self.reload_model,
            )
        elif own := self._conversation_model():
            self.notice.show_notice(
                f"No model is loaded. This conversation was written with {Path(own).name}.",
                "Load it",
                lambda: self.load_model(own),
            )
        else:
            self.notice.show_notice(
                "Choose a model first (model picker above, Open GGUF file..., or drop a .gguf).",
                "Open GGUF file...",
                self.files.open_gguf_file,
            )
        return False

    def _conversation_model(self) -> str | None:
        """The open conversation's own model file, when it is still on disk."""
        cid = self.conversation_id
        conversation = self.services.conversations.get(cid) if cid else None
        model = conversation.model if conversation else None
        return model if model and Path(model).is_file() else None

    def _run_turn(self, action: Callable[[], Turn]) -> bool:
        """Start a turn (the window's checks first); False when it did not start."""
        if not self._can_generate():
            return False
        try:
            turn = action()
        except ChatError as error:
            self.notice.show_notice(str(error))
            return False
        except StoreError as error:  # locked by an import, disk full...: the text stays typed
            self.notice.show_notice(f"Not sent, nothing was lost: {error}", details=str(error))
            return False
        self.notice.hide()
        self._update_page()
        self.chat_view.sync(turn.path)
        self.chat_view.start_reply(turn.message_id)
        self._sync_streaming_ui()
        self._show_title()  # the first message names the conversation
        QTimer.singleShot(0, self.refresh_sidebar)  # its own turn of the event loop
        return True

    def _show_title(self) -> None:
        """The window title follows the open conversation's title ("Title — ChatDesk")."""
        if self.conversation_id is not None:
            conversation = self.services.conversations.get(self.conversation_id)
            if conversation is not None:
                self.setWindowTitle(conversation.title)

    def _sync_streaming_ui(self) -> None:
        turn = self.turns.current
        streaming = self.turns.streaming
        here = streaming and turn is not None and turn.conversation_id == self.conversation_id
        self.composer.set_streaming(here)
        if self.stop_action is not None:
            self.stop_action.setEnabled(streaming)
        self.chat_view.set_busy(streaming)

    # -- the reply, as the bridge reports it --------------------------------------
    def _on_turn_text(self, _turn: Turn, _delta: str) -> None:
        self._render()

    def _render_now(self) -> None:
        turn = self.turns.current
        if turn is None:
            return
        started = time.perf_counter()
        if turn.save_error:
            self.unsaved.warn(turn)
        if turn.conversation_id == self.conversation_id:
            self.chat_view.update_streaming(turn.message_id, turn.text)
        cost_s = time.perf_counter() - started
        self._render.delay_ms = 1000 * max(MIN_RENDER_INTERVAL_S, 2 * cost_s)

    def _finish_reply(self, turn: Turn) -> None:
        self._render.cancel()
        message = self.chat.message(turn.message_id)
        error = turn.error if not turn.host_died else None
        if turn.save_error:  # shown from memory, marked as not saved (never as complete)
            message = dataclasses.replace(message, content=turn.text, status=turn.status)
            error = turn.save_error
        if turn.conversation_id == self.conversation_id:
            self.chat_view.finish_message(message, error)
        self._sync_streaming_ui()
        QTimer.singleShot(0, self, self.refresh_sidebar)  # a turn of its own: no long block
        if turn.host_died:
            self._update_model_ui()
            self.notice.show_notice(
                f"The engine stopped while writing the reply ({first_line(turn.error)}). "
                "The text so far is kept.",
                "Reload model",
                self.reload_model,
                details=turn.error or "",
            )
        elif turn.error:
            self.notice.show_notice(f"The reply failed: {first_line(turn.error)}")
        elif problem := turn.request.extras.get(ERROR_KEY):  # answered without the documents
            self.notice.show_notice(
                f"Documents were left out of this reply: {first_line(str(problem))}",
                details=str(problem),
            )
        elif turn.data.get("sampling_not_sent"):  # a remote server that ignores some settings
            skipped = ", ".join(turn.data["sampling_not_sent"])
            self.notice.show_notice(
                f"This server does not take {skipped}; those settings were not sent.",
                details=str(turn.data.get("sampling_report", "")),
            )
        if turn.save_error:
            self.unsaved.warn(turn)

    def _redraw_saved(self, turn: Turn) -> None:
        if turn.conversation_id == self.conversation_id:
            self.chat_view.finish_message(self.chat.message(turn.message_id), turn.error)

    def _check_external_changes(self) -> None:
        """Another process (the command line) changed the database: show it, in the
        sidebar and in the open chat (unless a reply is streaming into it here)."""
        if not self.services.conversations.changed_elsewhere():
            return
        self.refresh_sidebar()
        cid = self.conversation_id
        turn = self.turns.current
        if cid is None or (self.turns.streaming and turn and turn.conversation_id == cid):
            return
        self.chat_view.sync(self.chat.messages(cid))
        self._show_title()

    def open_models_dialog(self) -> None:
        """The model manager (browse, download, manage local models)."""
        from chatdesk.ui.models_dialog import ModelsDialog

        dialog = ModelsDialog(self.services.models, self)
        dialog.model_chosen.connect(self.load_model)
        run_modal(dialog)
        self.rescan_library()  # downloads, imports and deletions change the list

    def _show_context(self) -> None:
        """The top bar's meter: the shown branch's last reply against the loaded model."""
        status = self.services.engine.status
        loaded = status.info.n_ctx if status.state is ModelState.READY and status.info else None
        self.top.show_context(*context_of(self.chat_view.messages, loaded))

    def _update_model_ui(self) -> None:
        status = self.services.engine.status
        model_feedback(self, status, self._load_from_welcome)
        self._show_context()
        loading = status.state is ModelState.LOADING
        self._busy_action.setVisible(loading)
        self.picker.setEnabled(not loading)
        self.empty_chat.show_model(status.name if status.state is ModelState.READY else None)
        if loading:
            self.model_status.setText(f"Loading {status.name}...")
            self.notice.hide()
        elif status.state is ModelState.READY:
            self.model_status.setText(describe_model(status.info))
            recommended = self.services.engine.recommended_sampling()
            self.settings_panel.conversation.set_recommended(recommended)
            self.settings_panel.model.set_model_info(status.info)
            if self.picker.selected_path() != status.path != self._picker_filled_for:
                self.refresh_models()  # once per model: one the list lacks must not loop
        elif status.state is ModelState.FAILED:
            self.model_status.setText("Load failed")
            self.notice.show_notice(
                f"Could not load the model. {first_line(status.error)}",
                "Open GGUF file...",
                self.files.open_gguf_file,
            )
        elif status.state is ModelState.DIED:
            self.model_status.setText("Engine stopped")
            self.notice.show_notice(
                f"The engine stopped: {first_line(status.error)}", "Reload model", self.reload_model
            )
        else:
            self.model_status.setText("No model loaded")
        self._update_page()

    def show_prompt(self) -> None:
        """The exact prompt the model would get for the open conversation."""
        if self.conversation_id is None or not self.services.engine.ready:
            self.notice.show_notice("Load a model to see the prompt it receives.")
            return
        from chatdesk.ui.prompt_viewer import PromptViewer

        self.settings_panel.conversation.flush()
        viewer, cid, background = PromptViewer(self), self.conversation_id, self.background
        extras = self.tools.extras()  # what a send offers now (tools)
        # the request's hooks may retrieve documents (an embedding): off the GUI thread; the
        # engine then renders the prompt and answers through its future
        background.run(
            lambda: self.chat.render_prompt(cid, extras),
            lambda future: background.when_done(future, viewer.show_prompt, viewer.show_error),
            viewer.show_error,
        )
        run_modal(viewer)

    # -- settings and appearance --------------------------------------------------
    def toggle_settings(self) -> None:
        """Ctrl+comma: show or hide the settings panel."""
        self.dock.setVisible(not self.dock.isVisible())

    def _save_conversation_settings(self, system_prompt: str, settings: dict) -> None:
        if self.conversation_id is not None:
            self.services.conversations.save_settings(self.conversation_id, system_prompt, settings)

    def changeEvent(self, event: QEvent) -> None:
        """The theme changed: draw the icons again in its colours."""
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            retint(self)
        super().changeEvent(event)

    # -- drag and drop ------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept a dragged .gguf file, or documents for the chat."""
        urls = event.mimeData().urls()
        if gguf_from_urls(urls) or document_drops(urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Load a dropped .gguf file; other files are attached to the chat as documents."""
        path = gguf_from_urls(event.mimeData().urls())
        event.acceptProposedAction()
        if path:
            self.load_model(path)
        elif files := document_drops(event.mimeData().urls()):
            self.documents_dock.add_dropped(files)
