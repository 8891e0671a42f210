"""Modal dialogs: run one, then have the GUI thread delete it.

PySide's ``QDialog.exec()`` hands the dialog to Python when it returns: from then on the C++
dialog lives exactly as long as its Python wrapper, although it still has a parent. A
wrapper caught in a reference cycle dies only when Python's cyclic garbage collector runs,
and that runs on whichever thread happens to allocate at that moment. A failed
``Background`` task is such a cycle (the error's traceback holds the worker's frame, whose
closure holds the dialog): after a hub search that could not reach the hub, the Models
dialog was deleted by a worker thread importing the MCP library, and shiboken queued its
children for a second deletion on the GUI thread, which crashed the window (SIGSEGV).

``run_modal`` is the one way the window runs a modal dialog: it ends each with
``deleteLater``, so the GUI thread's event loop destroys it soon after the caller returns
(the caller may still read its fields and buttons until then), whatever Python still
holds; a wrapper that outlives it is an empty shell, harmless on any thread.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog


def run_modal(dialog: QDialog) -> int:
    """``dialog.exec()``, then delete the dialog on the GUI thread; the dialog's result."""
    try:
        return dialog.exec()
    finally:
        dialog.deleteLater()
