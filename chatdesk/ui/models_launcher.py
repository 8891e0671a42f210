"""Opens the model manager (the hub's ModelsDialog) and loads the model the user picks."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget


def open_models_dialog(parent: QWidget, load: Callable[[str], None]) -> None:
    """Show the model manager; a chosen model is loaded right away."""
    try:
        dialogs = importlib.import_module("chatdesk.ui.models_dialog")
        services = importlib.import_module("chatdesk.services.models")
    except ImportError:
        QMessageBox.information(
            parent,
            "Models",
            "The model manager is not part of this build. Use File > Open GGUF file... "
            "or drop a .gguf file onto the window.",
        )
        return
    dialog = dialogs.ModelsDialog(services.ModelsService(), parent)
    dialog.model_chosen.connect(load)
    dialog.exec()
