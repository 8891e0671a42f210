"""The user guide's pictures, taken from the real window with the real starter model.

``scripts/screenshots.py --set docs --model STARTER.gguf docs/images`` runs ``DocShooter``:
each entry of ``DOC_SHOTS`` is one PNG the guide shows, named as the guide names it.
``tests/documentation/test_docs_site.py`` fails when a page shows a picture that is not in
``DOC_SHOTS`` (so a renamed or dropped picture cannot go stale unnoticed), and the docs
build fails when a listed picture is missing from ``docs/images``.

The pictures are not hand-made: a fresh data root, the real store, the real engine host
and the real model answering at temperature 0, so running the script again redraws them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUESTION = "What is the capital of France? Answer in one word."
CODE_QUESTION = "Show a Python function that reads a JSON file."
DOC_TEXT = """# Trip notes

The ferry to Zanzibar leaves at 07:30 from pier 3.
Tickets cost 35 dollars and are sold at the harbour office.
"""

# every picture the guide shows, in the order they are taken
DOC_SHOTS = (
    "welcome-starter.png",
    "empty-chat.png",
    "chat.png",
    "token-view.png",
    "settings.png",
    "prompt-viewer.png",
    "chat-dark.png",
    "models-dialog.png",
    "tools-audit.png",
    "documents.png",
    "window-800x600-settings.png",
    "window-1920x1080-dark.png",
)


@dataclass
class DocShooter:
    """One run of the docs set: the screenshots module's helpers, the app and its window."""

    helpers: Any
    app: Any
    window: Any
    home: Path
    model: Path
    out: Path

    def run(self) -> None:
        """Take every picture of ``DOC_SHOTS`` into ``out``."""
        self.window.resize(1280, 820)
        self.helpers.wait_until(self.app, self.window.welcome.starter_button.isVisible)
        self.save(self.window, "welcome-starter.png")
        self.chat()
        self.panels()
        self.dialogs()
        self.documents()
        self.sizes()

    def save(self, widget: Any, name: str) -> None:
        self.helpers.save(self.app, widget, self.out, name)

    def wait(self, condition: Callable[[], object]) -> None:
        self.helpers.wait_until(self.app, lambda: bool(condition()))

    def ask(self, text: str, max_tokens: int) -> None:
        boxes = self.window.settings_panel.conversation.boxes
        boxes["temperature"].setValue(0.0)
        boxes["max_tokens"].setValue(max_tokens)
        self.window.composer.text.setPlainText(text)
        self.window.composer.send_button.click()
        self.wait(lambda: not self.window.turns.streaming)

    def chat(self) -> None:
        """Two real exchanges with token probabilities kept, then the token view."""
        from chatdesk.services.engine_session import ModelState

        window = self.window
        window.load_model(str(self.model))
        self.wait(lambda: window.services.engine.status.state is not ModelState.LOADING)
        window.tokens.keep_action.setChecked(True)
        window.new_chat()
        self.save(window, "empty-chat.png")
        self.ask(QUESTION, 40)
        self.ask(CODE_QUESTION, 160)
        window.chat_view.scroll_to_bottom()
        self.save(window, "chat.png")
        tokens = window.chat_view.widget_for(window.chat_view.last_reply().id).tokens_button
        tokens.click()
        self.helpers.settle(self.app, 0.6)
        self.save(window, "token-view.png")
        tokens.click()

    def panels(self) -> None:
        """The settings panel, Show prompt, and the dark theme."""
        from chatdesk.ui.prompt_viewer import PromptViewer

        window = self.window
        if not window.dock.isVisible():
            window.toggle_settings()
        self.save(window, "settings.png")
        viewer = PromptViewer(window)
        rendered = window.chat.render_prompt(window.conversation_id)
        window.background.when_done(rendered, viewer.show_prompt, viewer.show_error)
        viewer.show()
        self.wait(lambda: "tokens" in viewer.summary.text())
        self.save(viewer, "prompt-viewer.png")
        viewer.close()
        window.toggle_settings()
        theme = window.settings_panel.appearance.theme
        theme.setCurrentIndex(theme.findData("dark"))
        self.save(window, "chat-dark.png")
        theme.setCurrentIndex(0)

    def dialogs(self) -> None:
        """The model manager, and the Tools dialog's audit log after one real tool call."""
        from chatdesk.tools.calls import ToolCall
        from chatdesk.ui.models_dialog import ModelsDialog
        from chatdesk.ui.tools_dialog import ToolsDialog

        self.dialog(ModelsDialog(self.window.services.models, self.window), "models-dialog.png")
        tools = self.window.services.tools
        tools.set_policy("calculator", "allow")
        tools.run(ToolCall("calculator", {"expression": "2**64 / 3"}), approved_by="policy")
        dialog = ToolsDialog(tools, self.window)
        dialog.tabs.setCurrentIndex(dialog.tabs.count() - 1)
        dialog.fill_log()
        dialog.log_table.selectRow(0)  # the call's arguments and result below the table
        self.dialog(dialog, "tools-audit.png", dialog.log_table.rowCount)

    def dialog(self, dialog: Any, name: str, ready: Callable[[], object] = lambda: True) -> None:
        dialog.show()
        self.wait(ready)
        self.save(dialog, name)
        dialog.close()

    def documents(self) -> None:
        """A collection of notes, indexed and attached to the open chat."""
        notes = self.home / "notes"
        notes.mkdir(exist_ok=True)
        (notes / "trip.md").write_text(DOC_TEXT, encoding="utf-8")
        (notes / "packing.json").write_text(json.dumps({"bring": ["passport"]}), encoding="utf-8")
        window = self.window
        window.services.documents.add([notes], "Trip")
        window.services.documents.index_collection("Trip")
        window.services.document_turns.attach(window.conversation_id, ["Trip"])
        window.documents_dock.show()
        window.documents_dock.show_for(window.conversation_id)
        self.save(window, "documents.png")

    def sizes(self) -> None:
        """The window at its smallest size with Settings open, and at full HD in the dark
        theme with the documents panel (the guide's window page)."""
        window = self.window
        window.documents_dock.hide()
        window.dock.show()
        window.resize(800, 600)
        self.helpers.settle(self.app, 0.6)
        self.save(window, "window-800x600-settings.png")
        window.dock.hide()
        window.documents_dock.show()
        theme = window.settings_panel.appearance.theme
        theme.setCurrentIndex(theme.findData("dark"))
        window.resize(1920, 1080)
        self.helpers.settle(self.app, 0.6)
        self.save(window, "window-1920x1080-dark.png")
        theme.setCurrentIndex(0)
