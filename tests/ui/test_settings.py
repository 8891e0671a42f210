"""Settings panel: per-conversation sampling and system prompt, presets, model settings, looks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from chatdesk.services.settings import (
    BUILTIN_PRESETS,
    SettingsError,
    SettingsService,
    fit_to_context,
    validate_model_settings,
    validate_sampling,
)
from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine
from tests.ui.conftest import wait_for_model, wait_for_reply

MakeWindow = Callable[..., MainWindow]


def test_conversation_settings_persist_and_reach_the_engine(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    window = make_window(lambda: scripted_engine)
    window.load_model(str(fake_gguf))
    wait_for_model(qtbot, window)
    panel = window.settings_panel.conversation
    panel.boxes["temperature"].setValue(0.35)
    panel.boxes["top_k"].setValue(12)
    panel.boxes["seed"].setValue(42)
    panel.system_prompt.setPlainText("Answer in French.")
    window.composer.text.setPlainText("Bonjour")
    window.composer.send_button.click()  # a pending edit is saved before sending
    wait_for_reply(qtbot, window)
    stored = window.services.store.get_conversation(window.conversation_id)
    assert stored.system_prompt == "Answer in French."
    assert stored.settings["temperature"] == pytest.approx(0.35)
    assert stored.settings["top_k"] == 12
    request = scripted_engine.requests[-1]
    assert request["system_prompt"] == "Answer in French."
    assert request["sampling"].temperature == pytest.approx(0.35)
    assert request["sampling"].seed == 42
    cid = window.conversation_id
    window.close()
    again = make_window(ScriptedEngine)
    assert again.conversation_id == cid
    assert again.settings_panel.conversation.boxes["temperature"].value() == pytest.approx(0.35)
    assert again.settings_panel.conversation.system_prompt.toPlainText() == "Answer in French."


def test_limits_are_enforced_by_the_widgets(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    boxes = window.settings_panel.conversation.boxes
    boxes["temperature"].setValue(9.0)
    boxes["top_p"].setValue(-1.0)
    boxes["max_tokens"].setValue(10**9)
    assert boxes["temperature"].value() == 2.0
    assert boxes["top_p"].value() == 0.0
    assert boxes["max_tokens"].value() == 32768


def test_presets_apply_save_and_delete(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    panel = window.settings_panel.conversation
    names = [panel.presets.itemText(i) for i in range(panel.presets.count())]
    assert names[:5] == ["Custom", "Balanced", "Precise", "Creative", "Step by step"]
    assert panel.presets.currentText() == "Custom"  # default settings, no prompt: no preset
    panel.presets.setCurrentText("Step by step")
    panel.apply_preset_button.click()
    stored = window.services.store.get_conversation(window.conversation_id)
    assert "step by step" in stored.system_prompt.lower()
    assert stored.settings["temperature"] == pytest.approx(0.4)
    assert panel.presets.currentText() == "Step by step"
    panel.boxes["temperature"].setValue(1.5)
    panel.flush()
    assert panel.presets.currentText() == "Custom"  # changed: no longer the preset
    panel.save_preset("My poet")
    assert panel.presets.currentText() == "My poet"
    saved = window.services.settings.preset("My poet")
    assert saved.settings["temperature"] == pytest.approx(1.5)
    assert "step by step" in saved.system_prompt.lower()
    window.services.settings.delete_preset("My poet")
    with pytest.raises(KeyError):
        window.services.settings.preset("My poet")
    with pytest.raises(SettingsError):
        window.services.settings.delete_preset("Balanced")


def answer_preset_question(qtbot: QtBot, button_text: str, asked: list[str]) -> None:
    """Click a button of the "replace your system prompt?" question once it shows."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        button = next(b for b in box.buttons() if b.text() == button_text)
        button.click()

    QTimer.singleShot(0, click)


def test_a_preset_asks_before_replacing_a_custom_system_prompt(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    panel = window.settings_panel.conversation
    panel.system_prompt.setPlainText("You are Ada, my patient maths tutor.")
    panel.presets.setCurrentText("Precise")
    asked: list[str] = []
    answer_preset_question(qtbot, "Keep my prompt", asked)
    panel.apply_preset_button.click()
    assert asked == ['Replace your system prompt with the one of "Precise"?']
    stored = window.services.store.get_conversation(window.conversation_id)
    assert stored.system_prompt == "You are Ada, my patient maths tutor."
    assert stored.settings["temperature"] == pytest.approx(0.2)  # the sampling was applied
    answer_preset_question(qtbot, "Cancel", asked)
    panel.presets.setCurrentText("Creative")
    panel.apply_preset_button.click()
    assert panel.boxes["temperature"].value() == pytest.approx(0.2)  # nothing changed
    answer_preset_question(qtbot, "Replace it", asked)
    panel.apply_preset_button.click()
    assert "creative" in panel.system_prompt.toPlainText().lower()
    asked.clear()
    panel.presets.setCurrentText("Balanced")
    panel.apply_preset_button.click()  # a preset's own prompt is replaced without asking
    assert asked == []
    assert panel.system_prompt.toPlainText() == "You are a helpful assistant."


def test_max_tokens_never_fills_the_whole_context(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    panel = window.settings_panel.conversation
    panel.set_context_length(2048)
    panel.presets.setCurrentText("Step by step")  # its max tokens is 2048
    panel.apply_preset_button.click()
    assert panel.boxes["max_tokens"].value() == 1024
    panel.boxes["max_tokens"].setValue(4000)
    assert panel.boxes["max_tokens"].value() == 1024
    assert fit_to_context({"max_tokens": 2048}, 2048) == {"max_tokens": 1024}
    assert fit_to_context({"max_tokens": 2048}, None) == {"max_tokens": 2048}
    panel.set_context_length(None)
    panel.boxes["max_tokens"].setValue(4000)
    assert panel.boxes["max_tokens"].value() == 4000


def test_model_settings_are_saved_per_model(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    window = make_window(lambda: scripted_engine)
    window.load_model(str(fake_gguf))
    wait_for_model(qtbot, window)
    model_panel = window.settings_panel.model
    model_panel.boxes["n_ctx"].setValue(1024)
    model_panel.boxes["n_threads"].setValue(2)
    model_panel.flash.setCurrentIndex(model_panel.flash.findText("Off"))
    model_panel.template.setPlainText("{{ messages }}")
    model_panel.apply_button.click()
    wait_for_model(qtbot, window)
    saved = window.services.settings.model_settings(str(fake_gguf))
    assert saved == {"n_ctx": 1024, "n_gpu_layers": -1, "n_threads": 2, "flash_attn": 0,
                     "chat_template": "{{ messages }}"}  # fmt: skip
    info = window.services.engine.status.info
    assert info is not None
    assert info.n_ctx == 1024  # reloaded with the new context length
    assert scripted_engine.loaded_with[-1].flash_attn is False
    model_panel.show_model(None)
    model_panel.show_model(str(fake_gguf))  # shown again as saved
    assert model_panel.flash.currentText() == "Off"


def test_conversation_model_policy_is_chosen_in_the_model_tab(
    qtbot: QtBot, make_window: MakeWindow, scripted_engine: ScriptedEngine, fake_gguf: Path
) -> None:
    window = make_window(lambda: scripted_engine)
    window.load_model(str(fake_gguf))
    wait_for_model(qtbot, window)
    combo = window.settings_panel.model.policy
    assert combo.currentData() == "ask"  # the default: offer to load the conversation's model
    combo.setCurrentIndex(combo.findData("always"))
    assert window.services.settings.conversation_model_policy() == "always"


def test_font_size_and_theme_persist(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    appearance = window.settings_panel.appearance
    appearance.font_size.setValue(15)
    appearance.theme.setCurrentIndex(appearance.theme.findData("dark"))
    assert window.app.font().pointSize() == 15
    assert window.renderer.palette.pygments_style == "github-dark"  # the dark code style
    window.close()
    again = make_window(ScriptedEngine)
    assert again.settings_panel.appearance.font_size.value() == 15
    assert again.settings_panel.appearance.theme.currentData() == "dark"
    again.settings_panel.appearance.theme.setCurrentIndex(0)  # back to the system's


def test_validation_rejects_bad_values() -> None:
    with pytest.raises(SettingsError):
        validate_sampling({"temperature": 3})
    with pytest.raises(SettingsError):
        validate_sampling({"top_k": 1.5})
    with pytest.raises(SettingsError):
        validate_sampling({"seed": "x"})
    with pytest.raises(SettingsError):
        validate_model_settings({"n_ctx": -5})
    with pytest.raises(SettingsError):
        validate_model_settings({"flash_attn": 2})
    assert validate_sampling({"top_k": 5.0, "unknown": 1}) == {"top_k": 5}


def test_builtin_presets_are_valid() -> None:
    for preset in BUILTIN_PRESETS:
        assert validate_sampling(preset.settings) == preset.settings
        assert preset.system_prompt


class MemorySettings:
    """A dict standing in for the store's app settings."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def get_setting(self, key: str, default: object = None) -> object:
        return self.values.get(key, default)

    def set_setting(self, key: str, value: object) -> None:
        self.values[key] = value


def test_recent_models_and_last_used() -> None:
    settings = SettingsService(MemorySettings())
    settings.remember_model("/m/a.gguf")
    settings.remember_model("/m/b.gguf")
    settings.remember_model("/m/a.gguf")
    assert settings.recent_models() == ["/m/a.gguf", "/m/b.gguf"]
    assert settings.last_model() == "/m/a.gguf"


def test_theme_follows_the_system_scheme(
    qtbot: QtBot, make_window: MakeWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatdesk.ui import theme

    window = make_window(ScriptedEngine)
    monkeypatch.setattr(theme, "system_is_dark", lambda: True)
    window.system_scheme_changed()  # what the desktop's colorSchemeChanged signal triggers
    assert window.renderer.palette is theme.DARK
    assert window.app.palette().window().color().lightness() < 100
    monkeypatch.setattr(theme, "system_is_dark", lambda: False)
    window.system_scheme_changed()
    assert window.renderer.palette is theme.LIGHT
    assert window.app.palette().window().color().lightness() > 150
