"""The main window: sidebar, chat view, composer, model picker, settings dock, menus.

One frame timer (``FrameTicker``) drives every update that comes from the engine: it polls a
pending model load and pumps the streaming reply, re-rendering the growing message at most
once per frame. It only runs while something is pending.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.app_services import AppServices
from chatdesk.services.chat import ChatError, StreamingReply
from chatdesk.services.engine_session import ModelState
from chatdesk.services.export import ExportError
from chatdesk.services.model_choices import initial_model, model_choices
from chatdesk.store import NotFoundError
from chatdesk.ui.chat_view import ChatView
from chatdesk.ui.composer import Composer
from chatdesk.ui.model_picker import ModelPicker
from chatdesk.ui.rendering import MarkdownRenderer, Palette
from chatdesk.ui.settings_panel import SettingsPanel
from chatdesk.ui.sidebar import PAGE, Sidebar
from chatdesk.ui.theme import DEFAULT_FONT_SIZE, apply_theme
from chatdesk.ui.welcome import WelcomePage

FRAME_MS = 16
MIN_RENDER_INTERVAL_S = 1 / 30
UNDO_DELETE_MS = 8000
SEARCH_DELAY_MS = 200
APP_TITLE = "ChatDesk"


class NoticeBar(QWidget):
    """A one-line message above the chat (load errors, a dead engine) with one action."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 6, 6)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Notice")
        self.action_button = QPushButton(self)
        self.close_button = QPushButton("Dismiss", self)
        self.close_button.clicked.connect(self.hide)
        row.addWidget(self.label, 1)
        row.addWidget(self.action_button)
        row.addWidget(self.close_button)
        self._action: object = None
        self.action_button.clicked.connect(self._run_action)
        self.hide()

    def show_notice(self, text: str, action: str | None = None, slot: object = None) -> None:
        """Show a message, optionally with a button that runs ``slot``."""
        self.label.setText(text)
        self.action_button.setVisible(action is not None)
        self.action_button.setText(action or "")
        self.action_button.setAccessibleName(action or "")
        self._action = slot
        self.show()

    def _run_action(self) -> None:
        self.hide()
        if callable(self._action):
            self._action()


class MainWindow(QMainWindow):
    """Everything a user sees, wired to the services."""

    def __init__(self, services: AppServices, app: QApplication) -> None:
        super().__init__()
        self.services = services
        self.app = app
        self.chat = services.chat
        self.conversation_id: str | None = None
        self._pending_delete: tuple[str, str] | None = None
        self._last_render = 0.0
        self._render_cost_s = 0.0
        self._render_pending = False
        self._watched_reply: StreamingReply | None = None
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.renderer = MarkdownRenderer(self._apply_appearance())
        self._build()
        self.settings_panel.appearance.show_values(*self._appearance())
        self._build_menus()
        self._frame = QTimer(self, interval=FRAME_MS)
        self._frame.setTimerType(Qt.TimerType.PreciseTimer)
        self._frame.timeout.connect(self._on_frame)
        self._undo_timer = QTimer(self, singleShot=True, interval=UNDO_DELETE_MS)
        self._undo_timer.timeout.connect(self._commit_delete)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._run_search)
        self._restore()

    # -- building -----------------------------------------------------------------
    def _build(self) -> None:
        self.sidebar = Sidebar(self)
        self.chat_view = ChatView(self.chat, self.renderer, self)
        self.composer = Composer(self)
        self.notice = NoticeBar(self)
        self.welcome = WelcomePage(self)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.welcome)
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
        self._build_toolbar()
        self._build_dock()
        self._connect()

    def _build_toolbar(self) -> None:
        bar = QToolBar("Model", self)
        bar.setObjectName("modelToolbar")
        bar.setMovable(False)
        self.picker = ModelPicker(self)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setAccessibleName("Loading model")
        self.model_status = QLabel("No model loaded", self)
        self.model_status.setContentsMargins(8, 0, 8, 0)
        self.model_status.setObjectName("modelStatus")
        self.model_status.setAccessibleName("Model status")
        bar.addWidget(QLabel(" Model ", self))
        bar.addWidget(self.picker)
        self._busy_action = bar.addWidget(self.busy)
        self._busy_action.setVisible(False)
        bar.addWidget(self.model_status)
        spacer = QWidget(self)
        spacer.setSizePolicy(spacer.sizePolicy().Policy.Expanding, spacer.sizePolicy().Policy.Fixed)
        bar.addWidget(spacer)
        self.prompt_action = bar.addAction("Show prompt", self.show_prompt)
        self.prompt_action.setToolTip("Show the exact text the model receives")
        self.addToolBar(bar)

    def _build_dock(self) -> None:
        self.settings_panel = SettingsPanel(self.services.settings, self)
        self.dock = QDockWidget("Settings", self)
        self.dock.setObjectName("settingsDock")
        self.dock.setWidget(self.settings_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.prompt_toggle = self.dock.toggleViewAction()
        self.prompt_toggle.setText("Settings")

    def _connect(self) -> None:
        s = self.sidebar
        s.open_conversation.connect(self.open_conversation)
        s.new_chat.connect(self.new_chat)
        s.rename.connect(self._rename)
        s.delete.connect(self.delete_conversation)
        s.pin.connect(self._pin)
        s.search_changed.connect(lambda _t: self._search_timer.start())
        s.undo_delete.connect(self.undo_delete)
        self.composer.send.connect(self.send)
        self.composer.stop.connect(self.stop)
        v = self.chat_view
        v.regenerate.connect(self.regenerate)
        v.resend.connect(self.edit_and_resend)
        v.switch_sibling.connect(self.switch_sibling)
        v.copied.connect(lambda _t: self.statusBar().showMessage("Copied", 2000))
        self.picker.model_chosen.connect(self.load_model)
        self.picker.open_file.connect(self.open_gguf_file)
        self.welcome.open_file.connect(self.open_gguf_file)
        self.welcome.open_models.connect(self.open_models_dialog)
        panel = self.settings_panel
        panel.conversation.changed.connect(self._save_conversation_settings)
        panel.model.reload_requested.connect(self.reload_model)
        panel.appearance.theme_changed.connect(self._set_theme)
        panel.appearance.font_size_changed.connect(self._set_font_size)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "New chat", self.new_chat, QKeySequence.StandardKey.New)
        self._action(file_menu, "Open GGUF file...", self.open_gguf_file, "Ctrl+O")
        file_menu.addSeparator()
        self._action(file_menu, "Export as Markdown...", self.export_markdown, "Ctrl+E")
        self._action(file_menu, "Export as JSON...", self.export_json)
        self._action(file_menu, "Export all as Markdown...", lambda: self.export_all("md"))
        self._action(file_menu, "Export all as JSON...", lambda: self.export_all("json"))
        self._action(file_menu, "Import JSON...", self.import_json)
        file_menu.addSeparator()
        self._action(file_menu, "Quit", self.close, QKeySequence.StandardKey.Quit)
        edit = self.menuBar().addMenu("&Edit")
        self._action(edit, "Copy last reply", self.copy_last_reply, "Ctrl+Shift+C")
        self._action(edit, "Find conversations", self.focus_search, QKeySequence.StandardKey.Find)
        self._action(
            edit,
            "Rename conversation",
            lambda: self.sidebar.start_rename(self.conversation_id),
            "F2",
        )
        self.stop_action = self._action(edit, "Stop reply", self.stop, "Esc")
        self.stop_action.setEnabled(False)
        view = self.menuBar().addMenu("&View")
        self._action(view, "Settings", self.toggle_settings, "Ctrl+,")
        self._action(view, "Show prompt", self.show_prompt, "Ctrl+Shift+P")
        self._action(
            view, "Larger text", lambda: self._step_font(1), QKeySequence.StandardKey.ZoomIn
        )
        self._action(
            view, "Smaller text", lambda: self._step_font(-1), QKeySequence.StandardKey.ZoomOut
        )
        models = self.menuBar().addMenu("&Models")
        self._action(models, "Models...", self.open_models_dialog, "Ctrl+M")
        self._action(models, "Reload model", self.reload_model, "Ctrl+R")
        self._action(models, "Unload model", self.unload_model)

    def _action(self, menu: object, text: str, slot: object, keys: object = None) -> QAction:
        action = QAction(text, self)
        if keys is not None:
            action.setShortcut(QKeySequence(keys))  # type: ignore[call-overload]
        action.triggered.connect(slot)
        menu.addAction(action)  # type: ignore[attr-defined]
        self.addAction(action)
        return action

    # -- start and stop -----------------------------------------------------------
    def _restore(self) -> None:
        settings = self.services.settings
        self.dock.setVisible(bool(settings.ui_value("settings_visible", False)))
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
            conversations = self.services.store.list_conversations(limit=1, offset=0)
            if conversations:
                self.open_conversation(conversations[0].id)
            else:
                self.new_chat()
        # The library scan imports the hub layer: do it once the window is on screen.
        QTimer.singleShot(0, lambda: self.refresh_models(select_initial=True))

    def _open_existing(self, cid: object) -> bool:
        if not isinstance(cid, str):
            return False
        try:
            self.services.store.get_conversation(cid)
        except NotFoundError:
            return False
        self.open_conversation(cid)
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the window state, finish pending work and stop the engine host."""
        self.settings_panel.conversation.flush()
        if self.chat.streaming:
            self.chat.cancel()
            deadline = time.monotonic() + 2
            while self.chat.streaming and time.monotonic() < deadline:
                self.chat.pump()
                time.sleep(0.01)
        self._commit_delete()
        settings = self.services.settings
        settings.set_ui_value("geometry", bytes(self.saveGeometry().toBase64().data()).decode())
        settings.set_ui_value(
            "splitter", bytes(self.splitter.saveState().toBase64().data()).decode()
        )
        settings.set_ui_value("settings_visible", self.dock.isVisible())
        settings.set_ui_value("last_conversation", self.conversation_id)
        self._frame.stop()
        self.services.engine.close()
        if "chatdesk.ui.models_launcher" in sys.modules:
            sys.modules["chatdesk.ui.models_launcher"].close_models_service(self)
        super().closeEvent(event)

    # -- conversations ------------------------------------------------------------
    def refresh_sidebar(self) -> None:
        """Reload the conversation list (or the search results)."""
        if self.sidebar.search.text().strip():
            self._run_search()
            return
        hidden = self._pending_delete[0] if self._pending_delete else None
        conversations = [
            c
            for c in self.services.store.list_conversations(limit=PAGE, offset=0)
            if c.id != hidden
        ]
        self.sidebar.show_conversations(conversations, self.conversation_id)

    def open_conversation(self, cid: str, message_id: str | None = None) -> None:
        """Show a conversation (and, from a search hit, the message that matched)."""
        self.settings_panel.conversation.flush()
        store = self.services.store
        conversation = store.get_conversation(cid)
        self.conversation_id = cid
        if message_id is not None and all(m.id != message_id for m in self.chat.messages(cid)):
            store.set_active_leaf(cid, message_id)
        self.chat_view.show_messages(self.chat.messages(cid))
        if message_id is not None:
            self.chat_view.reveal(message_id)
        self.settings_panel.conversation.show_settings(
            conversation.system_prompt, conversation.settings
        )
        self.sidebar.select(cid)
        self.setWindowTitle(f"{APP_TITLE} — {conversation.title}")
        self._update_page()
        self._sync_streaming_ui()
        self.composer.focus()

    def new_chat(self) -> None:
        """Start a new conversation (reusing the open one if it is still empty)."""
        if self.conversation_id is not None and not self.chat_view.messages:
            self.composer.focus()
            return
        conversation = self.chat.new_conversation()
        self.refresh_sidebar()
        self.open_conversation(conversation.id)

    def _rename(self, cid: str, title: str) -> None:
        self.services.store.rename_conversation(cid, title)
        if cid == self.conversation_id:
            self.setWindowTitle(f"{APP_TITLE} — {title}")
        QTimer.singleShot(0, self.refresh_sidebar)

    def _pin(self, cid: str, pinned: bool) -> None:
        self.services.store.set_pinned(cid, pinned)
        self.refresh_sidebar()

    def delete_conversation(self, cid: str) -> None:
        """Hide a conversation now and delete it for good unless undone within seconds."""
        if self.chat.streaming and self.chat.reply and self.chat.reply.conversation_id == cid:
            self.chat.cancel()
        self._commit_delete()
        title = self.services.store.get_conversation(cid).title
        self._pending_delete = (cid, title)
        self._undo_timer.start()
        self.sidebar.show_undo(title)
        self.refresh_sidebar()
        if cid == self.conversation_id:
            self.conversation_id = None
            remaining = [
                c for c in self.services.store.list_conversations(limit=2, offset=0) if c.id != cid
            ]
            if remaining:
                self.open_conversation(remaining[0].id)
            else:
                self.new_chat()

    def undo_delete(self) -> None:
        """Bring back the conversation deleted last."""
        if self._pending_delete is None:
            return
        cid = self._pending_delete[0]
        self._pending_delete = None
        self._undo_timer.stop()
        self.sidebar.hide_undo()
        self.refresh_sidebar()
        self.open_conversation(cid)

    def _commit_delete(self) -> None:
        if self._pending_delete is None:
            return
        cid = self._pending_delete[0]
        self._pending_delete = None
        self._undo_timer.stop()
        self.sidebar.hide_undo()
        with contextlib.suppress(NotFoundError):
            self.services.store.delete_conversation(cid)

    def focus_search(self) -> None:
        """Ctrl+F: jump to the search box."""
        self.sidebar.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.sidebar.search.selectAll()

    def _run_search(self) -> None:
        text = self.sidebar.search.text().strip()
        if not text:
            self.refresh_sidebar()
            return
        hits = self.services.store.search(text, limit=50, highlight=("", ""))
        hidden = self._pending_delete[0] if self._pending_delete else None
        self.sidebar.show_hits([h for h in hits if h.conversation_id != hidden])

    # -- chatting -----------------------------------------------------------------
    def send(self, text: str) -> None:
        """Send the composer's text and start streaming the reply."""
        if self.conversation_id is None:
            self.new_chat()
        assert self.conversation_id is not None
        self.settings_panel.conversation.flush()
        if not self._can_generate():
            return
        try:
            self.chat.send(self.conversation_id, text)
        except ChatError as error:
            self.notice.show_notice(str(error))
            return
        self.composer.clear()
        self._after_start()

    def regenerate(self, message: object) -> None:
        """Another reply to the same user message (a new sibling)."""
        if self._can_generate():
            self._run_chat_action(lambda: self.chat.regenerate(message))  # type: ignore[arg-type]

    def edit_and_resend(self, message: object, text: str) -> None:
        """A new branch from an edited user message."""
        if self._can_generate():
            self._run_chat_action(lambda: self.chat.edit_and_resend(message, text))  # type: ignore[arg-type]

    def switch_sibling(self, message: object, step: int) -> None:
        """Show another version of a message (< 2/3 >)."""
        if self.chat.switch_sibling(message, step) and self.conversation_id is not None:  # type: ignore[arg-type]
            self.chat_view.sync(self.chat.messages(self.conversation_id))

    def stop(self) -> None:
        """Stop the reply being written (Stop button, Esc)."""
        self.chat.cancel()

    def copy_last_reply(self) -> None:
        """Ctrl+Shift+C: the newest reply to the clipboard."""
        reply = self.chat_view.last_reply()
        if reply is not None:
            streaming = self.chat.reply if self._is_streaming(reply.id) else None
            text = streaming.text if streaming is not None else reply.content
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage("Last reply copied", 2000)

    def _is_streaming(self, message_id: str) -> bool:
        reply = self.chat.reply
        return reply is not None and reply.message_id == message_id and not reply.finished

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
        else:
            self.notice.show_notice(
                "Choose a model first (model picker above, Open GGUF file..., or drop a .gguf).",
                "Open GGUF file...",
                self.open_gguf_file,
            )
        return False

    def _run_chat_action(self, action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except ChatError as error:
            self.notice.show_notice(str(error))
            return
        self._after_start()

    def _after_start(self) -> None:
        assert self.conversation_id is not None
        self.notice.hide()
        self._update_page()
        self.chat_view.sync(self.chat.reply_path)
        self._watched_reply = self.chat.reply
        self._sync_streaming_ui()
        self._frame.start()
        self.refresh_sidebar()

    def _sync_streaming_ui(self) -> None:
        streaming = self.chat.streaming
        here = (
            streaming
            and self.chat.reply is not None
            and (self.chat.reply.conversation_id == self.conversation_id)
        )
        self.composer.set_streaming(here)
        self.stop_action.setEnabled(streaming)
        self.chat_view.set_busy(streaming)

    # -- the frame timer ----------------------------------------------------------
    def _on_frame(self) -> None:
        if self.services.engine.poll():
            self._update_model_ui()
        reply = self._watched_reply
        if reply is not None:
            result = self.chat.pump()
            self._render_pending |= result.text_changed
            if result.finished:
                self._finish_reply(reply)
            elif self._render_pending and self._render_due():
                self._render(reply)
        if (
            self._watched_reply is None
            and self.services.engine.status.state is not ModelState.LOADING
        ):
            self._frame.stop()

    def _render_due(self) -> bool:
        wait = max(MIN_RENDER_INTERVAL_S, 2 * self._render_cost_s)
        return time.perf_counter() - self._last_render >= wait

    def _render(self, reply: StreamingReply) -> None:
        started = time.perf_counter()
        self._render_pending = False
        if reply.conversation_id == self.conversation_id:
            self.chat_view.update_streaming(reply.message_id, reply.text)
        self._last_render = time.perf_counter()
        self._render_cost_s = self._last_render - started

    def _finish_reply(self, reply: StreamingReply) -> None:
        self._watched_reply = None
        self._render_pending = False
        message = self.services.store.get_message(reply.message_id)
        if reply.conversation_id == self.conversation_id:
            self.chat_view.finish_message(message, reply.error if not reply.host_died else None)
        self._sync_streaming_ui()
        self.refresh_sidebar()
        if reply.host_died:
            self._update_model_ui()
            self.notice.show_notice(
                f"The engine stopped while writing the reply ({reply.error}). "
                "The text so far is kept and marked interrupted.",
                "Reload model",
                self.reload_model,
            )
        elif reply.error:
            self.notice.show_notice(f"The reply failed: {reply.error}")

    # -- models -------------------------------------------------------------------
    def refresh_models(self, select_initial: bool = False) -> None:
        """Fill the model picker; at start, load the last used model (or the only one)."""
        settings = self.services.settings
        choices = model_choices(settings)
        current = self.services.engine.status.path
        selected = initial_model(settings, choices) if select_initial else current
        self.picker.set_choices(choices, selected)
        if select_initial and selected:
            self.load_model(selected)
        else:
            self._update_model_ui()

    def load_model(self, path: str) -> None:
        """Load a model file in the engine host (the window stays responsive)."""
        if self.chat.streaming:
            self.notice.show_notice("Stop the reply before switching models.")
            self.refresh_models()
            return
        self.services.engine.load(path)
        self.settings_panel.model.show_model(path)
        self._update_model_ui()
        self._frame.start()

    def reload_model(self) -> None:
        """Load the current model again (after a crash or new load settings)."""
        path = self.services.engine.status.path or self.picker.selected_path()
        if path:
            self.load_model(path)

    def unload_model(self) -> None:
        """Free the model's memory."""
        self.services.engine.unload()
        self._update_model_ui()

    def open_gguf_file(self) -> None:
        """Pick a .gguf file and load it."""
        path, _filter = QFileDialog.getOpenFileName(
            self, "Open GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.load_model(path)
        else:
            self.refresh_models()

    def open_models_dialog(self) -> None:
        """The model manager (browse, download, manage local models)."""
        from chatdesk.ui.models_launcher import open_models_dialog

        open_models_dialog(self, self.load_model)

    def show_prompt(self) -> None:
        """The exact prompt the model would get for the open conversation."""
        if self.conversation_id is None or not self.services.engine.ready:
            self.notice.show_notice("Load a model to see the prompt it receives.")
            return
        from chatdesk.ui.prompt_viewer import PromptViewer

        self.settings_panel.conversation.flush()
        future = self.chat.render_prompt(self.conversation_id)
        PromptViewer(future, self).exec()

    def _update_model_ui(self) -> None:
        status = self.services.engine.status
        loading = status.state is ModelState.LOADING
        self._busy_action.setVisible(loading)
        self.picker.setEnabled(not loading)
        if loading:
            self.model_status.setText(f"Loading {status.name}...")
            self.notice.hide()
        elif status.state is ModelState.READY:
            self.model_status.setText(describe_model(status.info))
            if self.picker.selected_path() != status.path:
                self.refresh_models()
        elif status.state is ModelState.FAILED:
            self.model_status.setText("Load failed")
            self.notice.show_notice(
                f"Could not load {status.name}: {status.error}",
                "Open GGUF file...",
                self.open_gguf_file,
            )
        elif status.state is ModelState.DIED:
            self.model_status.setText("Engine stopped")
            self.notice.show_notice(
                f"The engine stopped: {status.error}", "Reload model", self.reload_model
            )
        else:
            self.model_status.setText("No model loaded")
        self._update_page()

    def _update_page(self) -> None:
        no_model = self.services.engine.status.state in (ModelState.NONE, ModelState.FAILED)
        empty = not self.chat_view.messages
        self.pages.setCurrentWidget(self.welcome if no_model and empty else self.chat_view)

    # -- export and import --------------------------------------------------------
    def export_markdown(self) -> None:
        """Ctrl+E: the open conversation as a Markdown file."""
        self._export_one("Markdown (*.md)", ".md", self.services.export.markdown)

    def export_json(self) -> None:
        """The open conversation as a lossless JSON file."""
        self._export_one("JSON (*.json)", ".json", self.services.export.json)

    def _export_one(self, file_filter: str, suffix: str, write: object) -> None:
        if self.conversation_id is None:
            return
        title = self.services.store.get_conversation(self.conversation_id).title
        suggestion = str(Path.home() / f"{self.services.export.safe_name(title)}{suffix}")
        path, _f = QFileDialog.getSaveFileName(self, "Export conversation", suggestion, file_filter)
        if not path:
            return
        try:
            write(self.conversation_id, Path(path))  # type: ignore[operator]
        except (ExportError, OSError) as error:
            QMessageBox.warning(self, "Export", str(error))
            return
        self.statusBar().showMessage(f"Exported to {path}", 4000)

    def export_all(self, fmt: str = "md") -> None:
        """Every conversation to a folder, one file each (Markdown, or JSON)."""
        folder = QFileDialog.getExistingDirectory(
            self, "Export all conversations", str(Path.home())
        )
        if not folder:
            return
        try:
            count = self.services.export.all_to_folder(Path(folder), fmt)
        except (ExportError, OSError) as error:
            QMessageBox.warning(self, "Export", str(error))
            return
        self.statusBar().showMessage(f"Exported {count} conversations to {folder}", 4000)

    def import_json(self) -> None:
        """Conversations from a JSON file (ChatDesk's own or a minimal role/content list)."""
        path, _f = QFileDialog.getOpenFileName(
            self, "Import conversations", str(Path.home()), "JSON (*.json)"
        )
        if not path:
            return
        try:
            ids = self.services.export.import_file(Path(path))
        except (ExportError, OSError) as error:
            QMessageBox.warning(self, "Import", f"Nothing was imported.\n\n{error}")
            return
        self.refresh_sidebar()
        if ids:
            self.open_conversation(ids[0])
        self.statusBar().showMessage(f"Imported {len(ids)} conversations", 4000)

    # -- settings and appearance --------------------------------------------------
    def toggle_settings(self) -> None:
        """Ctrl+comma: show or hide the settings panel."""
        self.dock.setVisible(not self.dock.isVisible())

    def _save_conversation_settings(self, system_prompt: str, settings: dict) -> None:
        if self.conversation_id is not None:
            self.services.store.update_conversation(
                self.conversation_id, system_prompt=system_prompt, settings=settings
            )

    def _appearance(self) -> tuple[str, int]:
        settings = self.services.settings
        return (
            str(settings.ui_value("theme", "system")),
            int(settings.ui_value("font_size", DEFAULT_FONT_SIZE)),
        )

    def _apply_appearance(self) -> Palette:
        return apply_theme(self.app, *self._appearance())

    def system_scheme_changed(self) -> None:
        """The desktop switched light/dark: follow it unless a theme was chosen."""
        if self.services.settings.ui_value("theme", "system") == "system":
            self._restyle()

    def _set_theme(self, theme: str) -> None:
        self.services.settings.set_ui_value("theme", theme)
        self._restyle()

    def _set_font_size(self, size: int) -> None:
        self.services.settings.set_ui_value("font_size", size)
        self._restyle()

    def _step_font(self, step: int) -> None:
        size = int(self.services.settings.ui_value("font_size", DEFAULT_FONT_SIZE)) + step
        self._set_font_size(max(8, min(28, size)))

    def _restyle(self) -> None:
        self.renderer = MarkdownRenderer(self._apply_appearance())
        self.chat_view.renderer = self.renderer
        if self.conversation_id is not None:
            self.chat_view.show_messages(self.chat.messages(self.conversation_id))

    # -- drag and drop ------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept a dragged .gguf file."""
        if gguf_from_urls(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Load a dropped .gguf file."""
        path = gguf_from_urls(event.mimeData().urls())
        if path:
            event.acceptProposedAction()
            self.load_model(path)


def gguf_from_urls(urls: list) -> str | None:
    """The first local .gguf file among dropped URLs."""
    for url in urls:
        if url.isLocalFile() and url.toLocalFile().lower().endswith(".gguf"):
            return str(url.toLocalFile())
    return None


def describe_model(info: object) -> str:
    """One line about the loaded model for the tool bar."""
    if info is None:
        return "Model loaded"
    parts = []
    for name, fmt in (
        ("architecture", "{}"),
        ("quantization", "{}"),
        ("n_ctx", "context {}"),
        ("backend", "{}"),
        ("load_time_s", "loaded in {:.1f} s"),
    ):
        value = getattr(info, name, None)
        if value not in (None, ""):
            parts.append(fmt.format(value))
    return " · ".join(parts) or "Model loaded"
