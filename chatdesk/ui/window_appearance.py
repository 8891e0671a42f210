"""The main window's appearance: theme and font size, applied to the whole application and
to the chat's Markdown renderer, saved as window settings. The theme is "system" (follow the
desktop's colour scheme: ``chatdesk.ui.app`` connects ``colorSchemeChanged`` to
``system_scheme_changed``), "light" or "dark"; the looks themselves are the design system's
(``chatdesk.ui.design``, applied by ``chatdesk.ui.theme.apply_theme``).

A mixin of ``MainWindow`` (split out to keep the window module small); it uses only the
window attributes declared below.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from chatdesk.services.app_services import AppServices
from chatdesk.services.chat import ChatService
from chatdesk.ui.chat_view import ChatView
from chatdesk.ui.rendering import MarkdownRenderer, Palette
from chatdesk.ui.theme import DEFAULT_FONT_SIZE, apply_theme

MIN_FONT_SIZE, MAX_FONT_SIZE = 8, 28


class AppearanceMixin:
    """Theme and font size of a window that shows a chat."""

    services: AppServices
    app: QApplication
    chat: ChatService
    chat_view: ChatView
    renderer: MarkdownRenderer
    conversation_id: str | None

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

    def step_font(self, step: int) -> None:
        """Ctrl+plus / Ctrl+minus: a point larger or smaller, within limits."""
        size = int(self.services.settings.ui_value("font_size", DEFAULT_FONT_SIZE)) + step
        self._set_font_size(max(MIN_FONT_SIZE, min(MAX_FONT_SIZE, size)))

    def _restyle(self) -> None:
        self.renderer = MarkdownRenderer(self._apply_appearance())
        self.chat_view.renderer = self.renderer
        self.chat_view.apply_design()  # column width and spacing follow the font size
        if self.conversation_id is not None:
            self.chat_view.show_messages(self.chat.messages(self.conversation_id))
