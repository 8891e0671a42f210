"""Fixtures for the window tests: services over a temporary store, a main window, a model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from chatdesk.services.app_services import AppServices
from chatdesk.services.engine_session import ModelState
from chatdesk.ui.app import create_window
from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine

pytest.importorskip("PySide6")

# The offscreen platform (tests only) cannot pass size hints to a window system.
OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore the offscreen platform's own warning in the window tests."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture
def make_window(qtbot: QtBot) -> Iterator[Callable[..., MainWindow]]:
    """Build main windows over the test's data root; closes them (and their services) after."""
    opened: list[tuple[MainWindow, AppServices]] = []

    def make(client_factory: Callable[[], object]) -> MainWindow:
        from PySide6.QtWidgets import QApplication

        services = AppServices.create(client_factory=client_factory)  # type: ignore[arg-type]
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        window = create_window(app, services)
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        opened.append((window, services))
        return window

    yield make
    for window, services in opened:
        window.close()
        services.store.close()


def wait_for_reply(qtbot: QtBot, window: MainWindow, timeout: int = 20000) -> None:
    """Until the streaming reply has finished and been shown (its final pieces, which a
    worker renders after the reply ends, put in place)."""
    qtbot.waitUntil(lambda: not window.turns.streaming, timeout=timeout)
    qtbot.waitUntil(
        lambda: not any(w.body.rendering for w in window.chat_view.widgets), timeout=timeout
    )


def wait_for_model(qtbot: QtBot, window: MainWindow, timeout: int = 30000) -> None:
    """Until the model load has finished (either way)."""

    qtbot.waitUntil(
        lambda: window.services.engine.status.state is not ModelState.LOADING, timeout=timeout
    )


@pytest.fixture
def starter_window(
    qtbot: QtBot, make_window: Callable[..., MainWindow], starter_model_path: Path
) -> MainWindow:
    """A window whose engine host has loaded the real starter model."""
    pytest.importorskip("llama_cpp")
    from chatdesk.engine.client import EngineClient

    window = make_window(EngineClient)
    window.load_model(str(starter_model_path))
    wait_for_model(qtbot, window, timeout=120_000)
    assert window.services.engine.status.state is ModelState.READY, window.notice.label.text()
    return window


@pytest.fixture
def ready_window(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    scripted_engine: ScriptedEngine,
    fake_gguf: Path,
) -> MainWindow:
    """A window with the scripted model loaded (tests/conftest.py's scripted engine)."""
    window = make_window(lambda: scripted_engine)
    window.load_model(str(fake_gguf))
    wait_for_model(qtbot, window)
    assert window.services.engine.status.state is ModelState.READY
    return window
