"""Settings panel: the model's load settings, the conversation's sampling settings, presets
and system prompt, and appearance, as sections of one column (``settings_sections``).
Limits are enforced by the widgets themselves (spin box ranges come from the service's
limits) and every change is saved right away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from chatdesk.engine.types import ModelInfo
from chatdesk.services.settings import (
    DEFAULT_SAMPLING,
    INTEGER_SETTINGS,
    MODEL_LIMITS,
    SAMPLING_LIMITS,
    PresetPlan,
    SettingsError,
    SettingsService,
    context_cost,
    max_reply_tokens,
)
from chatdesk.ui.flow_layout import FlowLayout
from chatdesk.ui.icon_buttons import ElidedButton
from chatdesk.ui.message_widget import ElidedLabel
from chatdesk.ui.modal import run_modal
from chatdesk.ui.settings_sections import MIN_WIDTH, Section, SectionColumn

LABELS = {
    "temperature": ("Temperature", "Higher is more random; 0 always picks the likeliest token"),
    "top_p": (
        "Top P",
        "Sample only from the smallest set of tokens whose probability adds up to P",
    ),
    "top_k": ("Top K", "Sample only from the K likeliest tokens (0: no limit)"),
    "min_p": ("Min P", "Drop tokens less likely than this fraction of the likeliest one"),
    "repeat_penalty": ("Repeat penalty", "Discourage repeating recent tokens (1: off)"),
    "max_tokens": ("Max tokens", "Longest reply, in tokens"),
    "seed": ("Seed", "Same seed + settings + prompt gives the same reply (-1: random)"),
}
MODEL_LABELS = {
    "n_ctx": ("Context length", "Tokens the model sees at once (0: model default, max 8192)"),
    "n_gpu_layers": ("GPU layers", "Layers offloaded to the GPU (-1: all on a GPU build)"),
    "n_threads": ("Threads", "CPU threads (0: automatic)"),
}
SAVE_DELAY_MS = 300
TEMPLATE_HEIGHT = 96
CUSTOM_PRESET = "Custom"  # shown in the preset list when the settings match no preset


def narrow_form() -> QFormLayout:
    """A form whose labels go above their fields when the panel is narrow."""
    form = QFormLayout()
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)  # fits any panel width
    return form


class ClampingSpinBox(QSpinBox):
    """A spin box where a typed number above the maximum becomes the maximum (Qt's own
    refuses the digit that crosses it, so typing 99999 left 999 without a word)."""

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        digits = text.strip().removeprefix(self.prefix()).removesuffix(self.suffix()).strip()
        if digits.lstrip("-").isdigit() and int(digits) > self.maximum():
            return QValidator.State.Intermediate, text, pos
        return super().validate(text, pos)

    def fixup(self, text: str) -> str:
        digits = text.strip()
        if digits.lstrip("-").isdigit() and int(digits) > self.maximum():
            return self.textFromValue(self.maximum())
        return str(super().fixup(text))


def number_box(limits: tuple[float, float], integer: bool) -> QAbstractSpinBox:
    """A spin box that cannot leave the setting's limits."""
    if integer:
        box: QSpinBox | QDoubleSpinBox = ClampingSpinBox()
        box.setRange(int(limits[0]), int(limits[1]))
    else:
        box = QDoubleSpinBox()
        box.setDecimals(2)
        box.setSingleStep(0.05)
        box.setRange(limits[0], limits[1])
    box.setKeyboardTracking(False)
    return box


class ConversationSettings(QWidget):
    """System prompt, sampling settings and presets of the open conversation."""

    changed = Signal(str, dict)  # system prompt, sampling settings
    preset_saved = Signal(str)  # its name (features add what they keep with presets)
    preset_applied = Signal(str)  # its name, once applied (not when the user cancelled)

    def __init__(self, settings: SettingsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._loading = False
        self._n_ctx: int | None = None
        self._recommended: dict[str, float | int] = {}
        self._stored: dict[str, Any] | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.sampling_section = Section("Sampling", self)
        self.prompt_section = Section("System prompt and examples", self)
        column.addWidget(self.sampling_section)
        column.addWidget(self.prompt_section)
        self.system_prompt = QPlainTextEdit(self)
        self.system_prompt.setAccessibleName("System prompt")
        self.system_prompt.setTabChangesFocus(True)  # Tab moves on (no keyboard trap)
        self.system_prompt.setPlaceholderText("System prompt: how the model should behave")
        self.system_prompt.setMaximumHeight(120)
        self.prompt_section.add(self.system_prompt)
        sampling = self.sampling_section.column
        sampling.addLayout(self._preset_row())
        form = narrow_form()
        self.boxes: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for key, (label, tip) in LABELS.items():
            box = number_box(SAMPLING_LIMITS[key], key in INTEGER_SETTINGS)
            assert isinstance(box, QSpinBox | QDoubleSpinBox)
            box.setAccessibleName(label)
            box.setToolTip(tip)
            box.setObjectName(key)
            box.valueChanged.connect(self._schedule_save)
            form.addRow(label, box)
            self.boxes[key] = box
        sampling.addLayout(form)
        self.source_note = QLabel(self)
        self.source_note.setObjectName("samplingSource")
        self.source_note.setWordWrap(True)
        self.source_note.setMinimumWidth(1)
        sampling.addWidget(self.source_note)
        self.engine_defaults_button = wrapping_button("Use llama.cpp defaults instead", self)
        self.engine_defaults_button.setToolTip(
            "Override the model's recommended sampling with llama.cpp's defaults in this chat"
        )
        self.engine_defaults_button.clicked.connect(self.use_engine_defaults)
        sampling.addWidget(self.engine_defaults_button)
        defaults = QPushButton("Use for new chats", self)
        defaults.setAccessibleName("Use these settings for new chats")
        defaults.setToolTip("Use these settings for new chats")
        defaults.clicked.connect(lambda: settings.set_default_sampling(self.values()))
        sampling.addWidget(defaults)
        self._timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._timer.timeout.connect(self._save)
        self.system_prompt.textChanged.connect(self._schedule_save)
        self.setEnabled(False)

    def _preset_row(self) -> QVBoxLayout:
        """The preset list on one line, its buttons on the next (the panel stays narrow)."""
        rows = QVBoxLayout()
        row = QHBoxLayout()
        buttons = FlowLayout(spacing=6)  # wraps in a narrow panel instead of widening it
        self.presets = QComboBox(self)
        self.presets.setAccessibleName("Preset")
        self.presets.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.presets.setMinimumContentsLength(6)
        self.apply_preset_button = QPushButton("Apply", self)
        self.apply_preset_button.setAccessibleName("Apply preset")
        self.apply_preset_button.clicked.connect(self.apply_preset)
        self.save_preset_button = QPushButton("Save as...", self)
        self.save_preset_button.setAccessibleName("Save settings as preset")
        self.save_preset_button.clicked.connect(self._ask_save_preset)
        self.delete_preset_button = QPushButton("Delete", self)
        self.delete_preset_button.setAccessibleName("Delete preset")
        self.delete_preset_button.clicked.connect(self._delete_preset)
        row.addWidget(QLabel("Preset", self))
        row.addWidget(self.presets, 1)
        for widget in (
            self.apply_preset_button,
            self.save_preset_button,
            self.delete_preset_button,
        ):
            widget.setMinimumWidth(widget.fontMetrics().horizontalAdvance(widget.text()) + 16)
            buttons.addWidget(widget)
        rows.addLayout(row)
        rows.addLayout(buttons)
        self.refresh_presets()
        return rows

    def refresh_presets(self, current: str | None = None) -> None:
        """Fill the preset list (built-in ones first)."""
        self.presets.clear()
        for preset in self._settings.presets():
            self.presets.addItem(preset.name)
        if current:
            self.presets.setCurrentText(current)

    def show_settings(self, system_prompt: str, stored: dict[str, Any] | None) -> None:
        """Show a conversation's settings (without saving them back)."""
        self._loading = True
        self._stored = stored
        self.system_prompt.setPlainText(system_prompt)
        shown = self._settings.effective_sampling(stored, self._recommended)
        for key, value in shown.items():
            self.boxes[key].setValue(value)  # type: ignore[arg-type]
        self._loading = False
        self.setEnabled(True)
        self._show_sources()
        self._show_matching_preset(system_prompt, shown)

    def add_below_prompt(self, widget: QWidget) -> None:
        """A feature's own field, placed right under the system prompt."""
        column = self.prompt_section.column
        column.insertWidget(column.indexOf(self.system_prompt) + 1, widget)

    def set_recommended(self, recommended: dict[str, float | int]) -> None:
        """The loaded model's own recommended sampling (shown as such where it applies)."""
        if recommended != self._recommended:
            self._recommended = dict(recommended)
            if self.isEnabled():
                self.show_settings(self.system_prompt.toPlainText(), self._stored)

    def _show_sources(self) -> None:
        """Say which values follow the model's recommendation, with their numbers."""
        sources = self._settings.sampling_sources(self._stored, self._recommended)
        from_model = [key for key, source in sources.items() if source == "model"]
        names = ", ".join(f"{LABELS[k][0].lower()} {self.values()[k]:g}" for k in from_model)
        self.source_note.setText(
            f"The model's recommended sampling is in use: {names}." if from_model
            else "Sampling: llama.cpp's defaults, with your changes."
        )  # fmt: skip
        self.engine_defaults_button.setVisible(bool(from_model))
        for key, box in self.boxes.items():
            note = " (the model's recommendation)" if key in from_model else ""
            box.setToolTip(LABELS[key][1] + note)

    def use_engine_defaults(self) -> None:
        """One click: llama.cpp's defaults in place of the model's recommendation, saved."""
        sources = self._settings.sampling_sources(self._stored, self._recommended)
        for key, source in sources.items():
            if source == "model":
                self.boxes[key].setValue(DEFAULT_SAMPLING[key])  # type: ignore[arg-type]
        self._save()

    def _show_matching_preset(self, system_prompt: str, shown: dict[str, float | int]) -> None:
        """The preset list names the preset these settings are, or says they are custom."""
        match = self._settings.matching_preset(system_prompt, shown)
        custom = self.presets.findText(CUSTOM_PRESET)
        if match is not None:
            if custom >= 0:
                self.presets.removeItem(custom)
            self.presets.setCurrentText(match)
            return
        if custom < 0:
            self.presets.insertItem(0, CUSTOM_PRESET)
        self.presets.setCurrentIndex(self.presets.findText(CUSTOM_PRESET))

    def values(self) -> dict[str, float | int]:
        """The sampling settings as shown."""
        return {
            key: int(box.value()) if key in INTEGER_SETTINGS else round(float(box.value()), 4)
            for key, box in self.boxes.items()
        }

    def set_context_length(self, n_ctx: int | None) -> None:
        """The loaded model's context: max tokens can go up to half of it (None: no model)."""
        self._n_ctx = n_ctx
        limit = max_reply_tokens(n_ctx) if n_ctx else int(SAMPLING_LIMITS["max_tokens"][1])
        box = self.boxes["max_tokens"]
        box.setMaximum(limit)  # a larger value is lowered (and saved) at once
        box.setToolTip(f"{LABELS['max_tokens'][1]} (at most {limit:,} here: half the context)")

    def apply_preset(self) -> None:
        """Put the selected preset's settings in place, and its system prompt unless the
        user would rather keep their own (asked first); then save."""
        prompt = self.system_prompt.toPlainText()
        try:
            plan = self._settings.preset_plan(self.presets.currentText(), prompt, self._n_ctx)
        except KeyError:
            return
        choice = self._ask_about_prompt(plan) if plan.replaces_custom_prompt else "replace"
        if choice == "cancel":
            return
        self.show_settings(
            plan.preset.system_prompt if choice == "replace" else prompt, plan.settings
        )
        self._save()
        self.preset_applied.emit(plan.preset.name)

    def _ask_about_prompt(self, plan: PresetPlan) -> str:
        """Ask whether the preset may replace the user's own system prompt."""
        box = QMessageBox(self)
        box.setObjectName("presetPromptQuestion")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Apply preset")
        box.setText(f'Replace your system prompt with the one of "{plan.preset.name}"?')
        box.setInformativeText("Your prompt is not saved anywhere else.")
        replace = box.addButton("Replace it", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep my prompt", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        run_modal(box)
        clicked = box.clickedButton()
        return "replace" if clicked is replace else "keep" if clicked is keep else "cancel"

    def save_preset(self, name: str) -> None:
        """Save the shown settings as a named preset."""
        self._settings.save_preset(name, self.values(), self.system_prompt.toPlainText())
        self.refresh_presets(name.strip())
        self.preset_saved.emit(name.strip())

    def _ask_save_preset(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Preset name:")
        if ok and name.strip():
            try:
                self.save_preset(name)
            except SettingsError as error:
                QMessageBox.warning(self, "Save preset", str(error))

    def _delete_preset(self) -> None:
        try:
            self._settings.delete_preset(self.presets.currentText())
        except SettingsError as error:
            QMessageBox.information(self, "Delete preset", str(error))
            return
        self.refresh_presets()

    def _schedule_save(self) -> None:
        if not self._loading:
            self._timer.start()

    def _save(self) -> None:
        self._timer.stop()
        overrides = self._settings.overrides(self.values(), self._recommended)
        self._stored = overrides
        self.changed.emit(self.system_prompt.toPlainText(), overrides)
        self._show_sources()
        self._show_matching_preset(self.system_prompt.toPlainText(), self.values())

    def flush(self) -> None:
        """Save a pending change now (before sending or switching conversations)."""
        if self._timer.isActive():
            self._save()


FLASH_LABELS = {-1: "Automatic", 1: "On", 0: "Off"}
FLASH_TIP = (
    "Automatic: on for CPU (needed for exact speculative drafts), llama.cpp's choice on a "
    "GPU. Off: on CPU a short message deep in a long chat is read 1.5-2x faster, but "
    "replies are mostly generated more slowly"
)

POLICY_LABELS = {
    "ask": "Offer to load its model",
    "always": "Load its model",
    "never": "Keep the loaded model",
}


class ModelSettings(QWidget):
    """Context length, GPU layers, threads and chat template override of one model."""

    reload_requested = Signal()

    def __init__(self, settings: SettingsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._path: str | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)  # the section gives the margins
        self.model_label = ElidedLabel("No model selected", self)  # a long name: shortened
        column.addWidget(self.model_label)
        form = narrow_form()
        self.boxes: dict[str, QSpinBox] = {}
        for key, (label, tip) in MODEL_LABELS.items():
            box = number_box(MODEL_LIMITS[key], integer=True)
            assert isinstance(box, QSpinBox)
            box.setAccessibleName(label)
            box.setToolTip(tip)
            box.setObjectName(key)
            form.addRow(label, box)
            self.boxes[key] = box
        self.boxes["n_gpu_layers"].setSpecialValueText("all")
        self.boxes["n_ctx"].setSpecialValueText("model default")
        self.boxes["n_threads"].setSpecialValueText("automatic")
        self.flash = self._flash_box()
        form.addRow("Flash attention", self.flash)
        column.addLayout(form)
        self._trained, self._kv_bytes = 0, 0
        self.context_note = QLabel(self)
        self.context_note.setObjectName("contextCost")
        self.context_note.setWordWrap(True)
        self.context_note.setMinimumWidth(1)
        column.addWidget(self.context_note)
        self.boxes["n_ctx"].valueChanged.connect(self._show_context_cost)
        template_label = QLabel("Chat template override (Jinja; empty: the model's own)", self)
        template_label.setWordWrap(True)
        column.addWidget(template_label)
        self.template = QPlainTextEdit(self)
        self.template.setAccessibleName("Chat template override")
        self.template.setTabChangesFocus(True)
        self.template.setMaximumHeight(TEMPLATE_HEIGHT)
        column.addWidget(self.template)
        column.addLayout(self._policy_row())
        self.apply_button = wrapping_button("Save and reload model", self)
        self.apply_button.setAccessibleName("Save model settings and reload")
        self.apply_button.clicked.connect(self.save_and_reload)
        column.addWidget(self.apply_button)
        self.setEnabled(False)

    def _flash_box(self) -> QComboBox:
        """Flash attention for this model: Automatic, On or Off (saved as -1, 1, 0)."""
        box = QComboBox(self)
        for value, text in FLASH_LABELS.items():
            box.addItem(text, value)
        box.setAccessibleName("Flash attention")
        box.setToolTip(FLASH_TIP)
        return box

    def _policy_row(self) -> QFormLayout:
        """What opening a conversation written with another model does (app-wide)."""
        row = narrow_form()
        self.policy = QComboBox(self)
        self.policy.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.policy.setMinimumContentsLength(12)
        for policy, text in POLICY_LABELS.items():
            self.policy.addItem(text, policy)
        self.policy.setCurrentIndex(
            self.policy.findData(self._settings.conversation_model_policy())
        )
        self.policy.setAccessibleName("Conversation written with another model")
        self.policy.currentIndexChanged.connect(
            lambda _index: self._settings.set_conversation_model_policy(self.policy.currentData())
        )
        row.addRow(wrapped_label("Conversation written with another model", self), self.policy)
        return row

    def show_model(self, path: str | None) -> None:
        """Show the saved load settings of a model file."""
        self._path = path
        self.setEnabled(path is not None)
        self.model_label.setText(Path(path).name if path else "No model selected")
        self.model_label.setToolTip(path or "")  # the whole path
        saved = self._settings.model_settings(path) if path else {}
        self.boxes["n_ctx"].setValue(saved.get("n_ctx", 0))
        self.boxes["n_gpu_layers"].setValue(saved.get("n_gpu_layers", -1))
        self.boxes["n_threads"].setValue(saved.get("n_threads", 0))
        self.flash.setCurrentIndex(self.flash.findData(saved.get("flash_attn", -1)))
        self.template.setPlainText(saved.get("chat_template", ""))

    def set_model_info(self, info: ModelInfo | None) -> None:
        """The loaded model's trained context and KV-cache cost, for the context note."""
        self._trained = info.trained_context if info else 0
        self._kv_bytes = info.kv_bytes_per_token if info else 0
        self._show_context_cost(self.boxes["n_ctx"].value())

    def _show_context_cost(self, n_ctx: int) -> None:
        """Before anything loads: what this context length costs, and whether it is longer
        than the model was trained for."""
        text = context_cost(n_ctx, self._trained, self._kv_bytes)
        self.context_note.setText(text)
        self.context_note.setVisible(bool(text))

    def values(self) -> dict[str, Any]:
        """The load settings as shown."""
        values: dict[str, Any] = {key: box.value() for key, box in self.boxes.items()}
        values["flash_attn"] = self.flash.currentData()
        values["chat_template"] = self.template.toPlainText()
        return values

    def save_and_reload(self) -> None:
        """Save the settings for this model and load it again with them."""
        if self._path:
            self._settings.set_model_settings(self._path, self.values())
            self.reload_requested.emit()


class AppearanceSettings(QWidget):
    """Theme and font size."""

    theme_changed = Signal(str)
    font_size_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = narrow_form()
        form.setContentsMargins(0, 0, 0, 0)
        self.setLayout(form)
        self.theme = QComboBox(self)
        self.theme.setAccessibleName("Theme")
        for label, value in (("Follow the system", "system"), ("Light", "light"), ("Dark", "dark")):
            self.theme.addItem(label, value)
        self.theme.currentIndexChanged.connect(
            lambda _i: self.theme_changed.emit(self.theme.currentData())
        )
        self.font_size = QSpinBox(self)
        self.font_size.setAccessibleName("Font size")
        self.font_size.setRange(8, 28)
        self.font_size.setSuffix(" pt")
        self.font_size.setKeyboardTracking(False)
        self.font_size.valueChanged.connect(self.font_size_changed)
        form.addRow("Theme", self.theme)
        form.addRow("Font size", self.font_size)

    def show_values(self, theme: str, font_size: int) -> None:
        """Show the saved appearance without emitting changes."""
        self.blockSignals(True)
        self.theme.blockSignals(True)
        self.font_size.blockSignals(True)
        self.theme.setCurrentIndex(max(self.theme.findData(theme), 0))
        self.font_size.setValue(font_size)
        self.theme.blockSignals(False)
        self.font_size.blockSignals(False)
        self.blockSignals(False)


class SettingsPanel(SectionColumn):
    """The settings side panel: Model, Sampling, System prompt and examples, Appearance
    (features add Tools, Documents, Reply format, Engines and API server)."""

    def __init__(self, settings: SettingsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPanel")
        self.setAccessibleName("Settings")
        content = self.content()
        self.conversation = ConversationSettings(settings, content)
        self.model = ModelSettings(settings, content)
        self.appearance = AppearanceSettings(content)
        self.add_section("Model", self.model)
        self.place("Sampling", self.conversation)  # its Sampling and System prompt sections
        self.add_section("Appearance", self.appearance)
        self.setMinimumWidth(MIN_WIDTH)


def wrapped_label(text: str, parent: QWidget) -> QLabel:
    """A field's label that wraps in a narrow panel instead of widening it."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    return label


def wrapping_button(text: str, parent: QWidget) -> QPushButton:
    """A push button whose long text is shortened to the panel's width (whole in its
    accessible name and tooltip) instead of widening the panel."""
    return ElidedButton(text, parent)
