"""Numbers the user types are never changed silently (issue 24, item 3): a max tokens above
its limit becomes the limit, not a number with a digit missing; a context longer than the
model was trained for is warned about, with its memory cost, before the model is loaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.services.settings import context_cost
from chatdesk.ui.main_window import MainWindow
from tests.support.gguf_factory import ModelSpec, write_model
from tests.ui.conftest import wait_for_model


def test_typing_past_the_limit_gives_the_limit(
    qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    from chatdesk.engine.client import EngineClient

    window = make_window(EngineClient)
    window.load_model(str(write_model(tmp_path / "m.gguf", ModelSpec(context_length=2048))))
    wait_for_model(qtbot, window)
    window.new_chat()
    box = window.settings_panel.conversation.boxes["max_tokens"]
    limit = box.maximum()
    assert limit < 99999
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "99999")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.value() == limit  # not 999


def test_a_context_past_the_trained_length_is_warned_about_with_its_cost(
    qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    from chatdesk.engine.client import EngineClient

    window = make_window(EngineClient)
    model = write_model(tmp_path / "m.gguf", ModelSpec(context_length=2048))
    window.load_model(str(model))
    wait_for_model(qtbot, window)
    panel = window.settings_panel.model
    panel.show_model(str(model))
    panel.boxes["n_ctx"].setValue(99999)
    note = panel.context_note.text()
    assert "trained on" in note
    assert "2,048" in note
    assert "KV cache takes about" in note
    panel.boxes["n_ctx"].setValue(1024)
    assert "trained" not in panel.context_note.text()


def test_the_cost_is_the_kv_cache_size() -> None:
    # 24 layers x 2 (K and V) x 128 values x 2 bytes = 12,288 bytes a token
    assert context_cost(8192, 8192, 12_288) == "At 8,192 tokens the KV cache takes about 96 MB."
    warned = context_cost(99999, 8192, 12_288)
    assert "1.1 GB" in warned
    assert "96 MB at 8,192" in warned
