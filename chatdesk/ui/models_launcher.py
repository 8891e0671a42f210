"""Opens the model manager (the hub's ModelsDialog) and loads the model the user picks.

One ModelService lives as long as the window, so downloads keep going while the dialog is
closed; ``close_models_service`` stops them at exit (partial files stay for a resume).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from chatdesk.services.models import ModelService
from chatdesk.ui.models_dialog import ModelsDialog

_services: dict[int, ModelService] = {}


def open_models_dialog(parent: QWidget, load: Callable[[str], None]) -> None:
    """Show the model manager; a chosen model is loaded right away."""
    service = _services.setdefault(id(parent), ModelService())
    dialog = ModelsDialog(service, parent)
    dialog.model_chosen.connect(load)
    dialog.exec()


def close_models_service(parent: QWidget) -> None:
    """Stop the window's download queue, if the dialog was ever opened."""
    service = _services.pop(id(parent), None)
    if service is not None:
        service.close()
