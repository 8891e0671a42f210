"""The window's panels, opened the way a user opens them, for the size test and screenshots.

``PANELS`` names what issue 27 asks to be checked at every size: the settings panel, the
model manager, a reply's token view, the Tools dialog on its audit log, and the documents
panel. ``open_panel`` shows one and returns the top-level widget that shows it (the main
window for the side panels and the token view, the dialog for the other two);
``close_panel`` puts the window back. ``seed_chat`` stores a conversation with a reply
whose token probabilities were kept, so the token view has something to show without a
model (the screenshot script has a real model answer instead).
"""

from __future__ import annotations

from typing import Any

SIZES = ((800, 600), (1180, 760), (1920, 1080))
PANELS = ("settings", "models", "tokens", "tools", "documents")
THEMES = ("light", "dark")
LONG_TITLE = "Planning the family trip to Zanzibar and the ferries between the islands in May"


def seed_chat(window: Any) -> str:
    """A conversation with a long title, a question and a reply with kept probabilities."""
    from chatdesk.engine.types import Alternative, TokenChoice

    store = window.services.store
    chat = store.create_conversation(LONG_TITLE)
    store.append_message(chat.id, "user", "What is the capital of France? Answer in one word.")
    reply = store.append_message(
        chat.id,
        "assistant",
        "Paris is the capital.",
        model="/models/SmolLM2-135M-Instruct.Q4_1.gguf",
    )
    words = ["Paris", " is", " the", " capital", "."]
    choices = [
        TokenChoice(n, word, 0.9, 1.0, (Alternative(n, word, 0.9), Alternative(99, " Lyon", 0.05)))
        for n, word in enumerate(words)
    ]
    store.save_token_probabilities(reply.id, choices)
    window.refresh_sidebar()
    window.open_conversation(chat.id)
    return str(chat.id)


def set_theme(window: Any, theme: str) -> None:
    """Light or dark, through the settings panel's own control."""
    box = window.settings_panel.appearance.theme
    box.setCurrentIndex(box.findData(theme))


def open_panel(window: Any, name: str) -> Any:
    """Show panel ``name``; returns the top-level widget it is in."""
    if name == "settings":
        window.dock.show()
    elif name == "documents":
        window.documents_dock.show()
    elif name == "tokens":
        reply = window.chat_view.last_reply()
        window.chat_view.widget_for(reply.id).tokens_button.click()
    elif name == "models":
        from chatdesk.ui.models_dialog import ModelsDialog

        return _show(window, ModelsDialog(window.services.models, window))
    elif name == "tools":
        from chatdesk.tools.calls import ToolCall
        from chatdesk.ui.tools_dialog import ToolsDialog

        tools = window.services.tools
        tools.set_policy("calculator", "allow")  # one real call, so the log has a row
        tools.run(ToolCall("calculator", {"expression": "2**64 / 3"}), approved_by="policy")

        dialog = ToolsDialog(window.services.tools, window, window.background)
        dialog.tabs.setCurrentIndex(dialog.tabs.count() - 1)  # the audit log
        dialog.fill_log()
        dialog.log_table.selectRow(0)  # its arguments and result below the table
        return _show(window, dialog)
    return window


def _show(window: Any, dialog: Any) -> Any:
    """A dialog at its own size, but never larger than the window it opens over."""
    dialog.resize(min(dialog.width(), window.width()), min(dialog.height(), window.height()))
    dialog.show()
    return dialog


def close_panel(window: Any, name: str, shown: Any) -> None:
    """Undo ``open_panel``."""
    if shown is not window:
        shown.close()
        shown.deleteLater()
    elif name == "settings":
        window.dock.hide()
    elif name == "documents":
        window.documents_dock.hide()
    elif name == "tokens":
        reply = window.chat_view.last_reply()
        window.chat_view.widget_for(reply.id).tokens_button.click()
