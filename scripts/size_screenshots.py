"""The window at every size of issue 27: each panel open, in both themes.

``scripts/screenshots.py --set sizes [--model M.gguf] OUT`` saves
``{width}x{height}-{panel}-{theme}.png`` for the sizes, panels and themes of
``tests/support/window_panels.py`` (the ones ``tests/ui/test_window_sizes.py`` checks), plus
``{width}x{height}-chat-{theme}.png`` with no panel open. With ``--model`` the model is
loaded first, so the top bar shows a real model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.window_panels import (
    PANELS,
    SIZES,
    THEMES,
    close_panel,
    open_panel,
    seed_chat,
    set_theme,
)


def shoot_sizes(helpers: Any, app: Any, window: Any, model: Path | None, out: Path) -> None:
    """Every size x (no panel + each panel) x theme."""
    if model is not None:
        from chatdesk.services.engine_session import ModelState

        window.load_model(str(model))
        helpers.wait_until(
            app, lambda: window.services.engine.status.state is not ModelState.LOADING
        )
    seed_chat(window)
    for theme in THEMES:
        set_theme(window, theme)
        for width, height in SIZES:
            window.resize(width, height)
            helpers.settle(app, 0.5)
            helpers.save(app, window, out, f"{width}x{height}-chat-{theme}.png")
            for panel in PANELS:
                shown = open_panel(window, panel)
                helpers.save(app, shown, out, f"{width}x{height}-{panel}-{theme}.png")
                close_panel(window, panel, shown)
    set_theme(window, "light")
