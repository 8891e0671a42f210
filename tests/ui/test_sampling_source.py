"""The window shows which sampling values come from the model's own recommendation, and
overrides them in one click (issue 24, item 1); the reply uses what is shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from tests.support.gguf_factory import ModelSpec, write_model
from tests.ui.conftest import wait_for_model

RECOMMENDED = (("general.sampling.temp", 0.6), ("general.sampling.top_k", 20))


def test_recommended_sampling_is_shown_used_and_overridable(
    qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    from chatdesk.engine.client import EngineClient

    model = write_model(tmp_path / "recommends.gguf", ModelSpec(extra_metadata=RECOMMENDED))
    window = make_window(EngineClient)
    window.load_model(str(model))
    wait_for_model(qtbot, window)
    window.new_chat()
    panel = window.settings_panel.conversation
    assert panel.boxes["temperature"].value() == pytest.approx(0.6)
    assert panel.boxes["top_k"].value() == 20
    assert "recommended" in panel.source_note.text()
    assert "temperature 0.6" in panel.source_note.text()
    assert panel.engine_defaults_button.isVisibleTo(panel)
    request = window.turns.request_for(window.conversation_id, [])
    assert request.chat.sampling.temperature == pytest.approx(0.6)  # what the engine gets
    assert request.chat.sampling.top_k == 20
    panel.engine_defaults_button.click()
    assert panel.boxes["temperature"].value() == pytest.approx(0.8)
    assert panel.boxes["top_k"].value() == 40
    assert not panel.engine_defaults_button.isVisibleTo(panel)
    stored = window.services.store.get_conversation(window.conversation_id)
    assert stored.settings == {"temperature": 0.8, "top_k": 40}
