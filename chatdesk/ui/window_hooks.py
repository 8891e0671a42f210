"""What the main window adds for a new user: the starter offer, prompt progress, model feedback.

Kept beside ``main_window`` so that module stays about its layout and the chat turn:

- the welcome page's starter offer uses the app's models service, and the installed model is
  loaded at once (then the composer has the focus, as after any load from the welcome page);
- while the engine reads a long prompt, the waiting reply shows how far it got
  (``PromptProgress`` events, through the bridge's ``turn_event`` signal: the window's one
  event hook on the turn service, removed when it closes);
- when a model is ready: max tokens is capped by its context, a load that failed while
  this model stayed loaded is reported in the notice bar (the chat stays as it was), and
  the API server comes back on if it was on when the app closed (``restore_api_server``:
  the services' start-up, not the folded API server section being shown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatdesk.engine.types import PromptProgress, ReplyEvent
from chatdesk.services.engine_session import ModelState, ModelStatus
from chatdesk.services.turns import Turn

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow


def connect_new_user(window: MainWindow) -> None:
    """Wire the starter offer and the prompt progress into ``window``."""
    window.welcome.attach_models(window.services.models)
    window.welcome.starter_installed.connect(window.load_model)

    def on_event(turn: Turn, event: ReplyEvent) -> None:
        if isinstance(event, PromptProgress) and turn.conversation_id == window.conversation_id:
            window.chat_view.show_prompt_progress(
                turn.message_id, event.evaluated, event.total, event.seconds_left
            )

    window.bridge.turn_event.connect(on_event)  # the bridge: disconnected when the window closes


def model_feedback(window: MainWindow, status: ModelStatus, from_welcome: bool) -> None:
    """After a model state change: context limit, API server, failed-load notice, focus,
    picker."""
    ready = status.state is ModelState.READY and status.info is not None
    window.settings_panel.conversation.set_context_length(
        status.info.n_ctx if ready and status.info else None
    )
    if ready:
        window.services.restore_api_server()  # once per start
    if status.state is ModelState.READY and status.load_error:
        window.notice.show_notice(
            f"Could not load {first_line(status.load_error)}. Still using {status.name}."
        )
    if status.state is ModelState.READY and from_welcome:
        window.composer.focus()  # loaded from the welcome page: type at once
    if status.state is not ModelState.LOADING:
        window.welcome.refresh_offer()  # the starter offer only while no model exists
    if status.state is ModelState.NONE and window.picker.selected_path() is not None:
        window.refresh_models()  # unloaded: the picker must not name the old model


def first_line(text: str | None) -> str:
    """The headline of an engine error (the host's log lines stay in the notice's tool tip)."""
    return (text or "").strip().split("\n", 1)[0]
