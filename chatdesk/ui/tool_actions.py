"""The window's side of tools: what a turn offers, asking before a call, the Tools dialog,
and showing each tool step as it starts.

When "Offer tools to the model in chats" is on (the composer's Tools button, or the Tools
dialog: both change it through ``offer``, which shows it in both), every send, regenerate and
edit asks the turn service for a turn with all enabled tools. Calls are approved through
``GuiApprover`` (the dialog appears over the window while the tool worker waits). Each
tool step begins a new turn; the chat view is brought up to date with its branch (the
assistant's calls and the tool results appear as collapsed rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatdesk.services.tool_turns import ALL_TOOLS, tool_state
from chatdesk.services.turns import Turn
from chatdesk.ui.modal import run_modal
from chatdesk.ui.tool_approval import GuiApprover
from chatdesk.ui.tools_dialog import ToolsDialog

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow


class ToolActions:
    """Tools for one main window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.service = window.services.tools
        window.services.tool_turns.approve = GuiApprover(window, window.bridge)
        window.bridge.turn_started.connect(self.turn_started)
        window.bridge.turn_finished.connect(self.turn_finished)

    def connect_toggle(self) -> None:
        """The Tools switch beside the composer (once the window's widgets exist)."""
        self.window.composer.tools_button.toggled.connect(self.offer)
        self._show_toggle()

    def offer(self, on: bool) -> None:
        """The one Tools switch (composer's button, Tools dialog): offer the enabled tools
        to the model in chats."""
        self.service.set_offered_in_chat(on)
        self._show_toggle()

    def _show_toggle(self) -> None:
        toggle = self.window.composer.tools_button
        on = self.service.offered_in_chat()
        toggle.blockSignals(True)  # shown, not changed again
        toggle.setChecked(on)
        toggle.blockSignals(False)
        toggle.setText("Tools on" if on else "Tools")
        toggle.setToolTip(
            "The model may call the enabled tools; each call asks first (Tools... Ctrl+Shift+T)"
            if on else "Offer the enabled tools to the model in this and other chats"
        )  # fmt: skip

    def extras(self) -> dict[str, Any] | None:
        """What a turn asks for: every enabled tool when tools are offered in chats."""
        return {"tools": ALL_TOOLS} if self.service.offered_in_chat() else None

    def turn_started(self, turn: Turn) -> None:
        """A turn (or the next tool step of one) started: show its branch."""
        window = self.window
        if turn.conversation_id == window.conversation_id:
            window.chat_view.sync(turn.path)
        window._sync_streaming_ui()

    def turn_finished(self, turn: Turn) -> None:
        """A turn that called tools ended: show the rows stored after its reply (stopped
        results). A reply without calls (every turn has a state: reasoning is read) stored
        nothing more, and reading the branch again is a long block on a busy machine."""
        window = self.window
        state = tool_state(turn)
        called = state is not None and (bool(state.calls) or state.step > 1)
        if called and turn.conversation_id == window.conversation_id:
            window.chat_view.sync(window.chat.messages(turn.conversation_id))

    def dialog(self) -> ToolsDialog:
        """Tools...: switches, policies, MCP servers, audit log; its offer switch is ours."""
        return ToolsDialog(self.service, self.window, self.window.background, self.offer)

    def open_dialog(self) -> None:
        """Show the Tools dialog (modal)."""
        run_modal(self.dialog())
