"""Generation settings, presets, per-model load settings and window state, kept in the store.

Per-conversation settings live on the conversation row (``settings``, ``system_prompt`` and
the few-shot ``examples``); everything else is a JSON app setting (``Store.get_setting`` /
``Store.set_setting``). A preset may carry examples: user/assistant pairs that are sent
before the conversation (see ``chatdesk.engine.context_fit.example_messages``).
Sampling defaults have one source, ``chatdesk.engine.types.SamplingSettings`` (the API
server uses it too); ``DEFAULT_SAMPLING`` is that source as stored settings, and
``effective_sampling`` lays a conversation's settings over it.

Applying a preset never silently replaces a system prompt the user wrote (``preset_plan``
says whether it would, so the window can ask), and max tokens never fills the whole context
(``fit_to_context``: at most half of it, as the engine keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from chatdesk.engine.context_fit import max_reply_tokens
from chatdesk.engine.types import SamplingSettings
from chatdesk.store.errors import InvalidValueError
from chatdesk.store.token_probabilities import check_examples

__all__ = [
    "BUILTIN_PRESETS",
    "DEFAULT_SAMPLING",
    "INTEGER_SETTINGS",
    "LAST_MODEL_KEY",
    "MAX_RECENT_MODELS",
    "MODEL_LIMITS",
    "PRESETS_KEY",
    "RECENT_MODELS_KEY",
    "SAMPLING_LIMITS",
    "Preset",
    "PresetPlan",
    "SettingStore",
    "SettingsError",
    "SettingsService",
    "checked_examples",
    "fit_to_context",
    "max_reply_tokens",
    "validate_model_settings",
    "validate_sampling",
]

SAMPLING_LIMITS: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "top_k": (0, 1000),
    "min_p": (0.0, 1.0),
    "repeat_penalty": (0.5, 2.0),
    "max_tokens": (1, 32768),
    "seed": (-1, 2**31 - 1),
}
INTEGER_SETTINGS = frozenset({"top_k", "max_tokens", "seed"})

SHOWN_SAMPLING = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens")


def engine_sampling_defaults() -> dict[str, float | int]:
    """The sampling defaults as settings: read from ``SamplingSettings`` (the one source the
    window, the command line and the API server share), with seed -1 meaning random."""
    engine = SamplingSettings()
    values: dict[str, float | int] = {name: getattr(engine, name) for name in SHOWN_SAMPLING}
    values["seed"] = -1 if engine.seed is None else engine.seed
    return values


DEFAULT_SAMPLING = engine_sampling_defaults()

# what makes settings "a preset's": its sampling, not max tokens or the seed
PRESET_IDENTITY = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty")

MODEL_LIMITS: dict[str, tuple[int, int]] = {
    "n_ctx": (0, 131072),  # 0: the engine's default (trained length, capped)
    "n_gpu_layers": (-1, 999),  # -1: the engine's default (all layers on a GPU build)
    "n_threads": (0, 256),  # 0: the engine's default
    # -1: automatic (on for CPU: exact speculative drafts; llama.cpp's choice on a GPU),
    # 1 on, 0 off (short follow-ups deep in long chats 1.5-2x faster on CPU, see
    # docs/architecture/performance.md)
    "flash_attn": (-1, 1),
}

STATE_CACHE_KEY = "state_cache"  # RAM and disk for kept conversation KV states (issue 25)
STATE_CACHE_LIMITS: dict[str, tuple[int, int]] = {
    "state_cache_mb": (0, 262144),  # RAM; 0 keeps none (every switch re-reads)
    "state_disk_mb": (0, 999999),  # disk under the cache folder; 0 writes none
}
STATE_CACHE_DEFAULTS = {"state_cache_mb": 1024, "state_disk_mb": 4096}

PRESETS_KEY = "presets"
RECENT_MODELS_KEY = "models.recent"
LAST_MODEL_KEY = "models.last"
API_SERVER_KEY = "api_server"
MAX_RECENT_MODELS = 20
CONVERSATION_MODEL_KEY = "models.open_conversation_model"
CONVERSATION_MODEL_POLICIES = ("always", "ask", "never")


class SettingsError(ValueError):
    """A setting outside its limits or of the wrong type."""


@dataclass(frozen=True)
class Preset:
    """Named sampling settings plus the system prompt (and few-shot examples, as
    ``{"user": ..., "assistant": ...}`` pairs) that go with them."""

    name: str
    settings: dict[str, float | int]
    system_prompt: str
    builtin: bool = False
    examples: tuple[dict[str, str], ...] = ()
    reply_format: dict[str, Any] | None = None  # structured output (services/structured.py)


TRANSLATION_EXAMPLES = (
    {"user": "The weather is lovely today.", "assistant": "Il fait très beau aujourd'hui."},
    {"user": "Where is the train station?", "assistant": "Où est la gare ?"},
)
MATHS_EXAMPLE = {
    "user": "A shirt costs 20 euros and is reduced by 15%. What does it cost now?",
    "assistant": "Step 1: 15% of 20 euros is 0.15 x 20 = 3 euros.\n"
    "Step 2: The new price is 20 - 3 = 17 euros.\n"
    "Answer: 17 euros",
}


CONTACT_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": ["string", "null"], "maxLength": 80},
        "email": {"type": ["string", "null"], "maxLength": 80},
        "phone": {"type": ["string", "null"], "maxLength": 40},
        "company": {"type": ["string", "null"], "maxLength": 80},
    },
    "required": ["name", "email", "phone", "company"],
    "additionalProperties": False,
}
EXTRACT_EXAMPLES = (
    {
        "user": "Hi, I'm Maria Lopez from Acme Corp. Reach me at maria@acme.com.",
        "assistant": '{"name": "Maria Lopez", "email": "maria@acme.com", "phone": null, '
        '"company": "Acme Corp"}',
    },
    {
        "user": "Call Tom on +44 20 7946 0958 about the invoice.",
        "assistant": '{"name": "Tom", "email": null, "phone": "+44 20 7946 0958", "company": null}',
    },
)


BUILTIN_PRESETS: tuple[Preset, ...] = (
    Preset("Balanced", dict(DEFAULT_SAMPLING), "You are a helpful assistant.", builtin=True),
    Preset(
        "Precise",
        {**DEFAULT_SAMPLING, "temperature": 0.2, "top_p": 0.8, "top_k": 20, "min_p": 0.1},
        "You are a precise assistant. Answer accurately and concisely; say when you are unsure.",
        builtin=True,
    ),
    Preset(
        "Creative",
        {**DEFAULT_SAMPLING, "temperature": 1.1, "top_p": 0.95, "top_k": 100, "min_p": 0.02},
        "You are a creative writing partner. Be imaginative and vivid.",
        builtin=True,
    ),
    Preset(
        "Step by step",
        {**DEFAULT_SAMPLING, "temperature": 0.4, "max_tokens": 2048},
        "Think through the problem step by step, showing your reasoning, "
        "then give the final answer on its own line.",
        builtin=True,
    ),
    Preset(
        "Translate to French",
        {**DEFAULT_SAMPLING, "temperature": 0.2, "top_p": 0.8},
        "Translate the user's text into French. Reply with the translation only.",
        builtin=True,
        examples=TRANSLATION_EXAMPLES,
    ),
    Preset(
        "Maths step by step",
        {**DEFAULT_SAMPLING, "temperature": 0.3, "max_tokens": 2048},
        "Solve the problem in numbered steps, one calculation per step, "
        "then give the answer on a line starting with 'Answer:'.",
        builtin=True,
        examples=(MATHS_EXAMPLE,),
    ),
    Preset(
        "Extract fields as JSON",
        {**DEFAULT_SAMPLING, "temperature": 0.2, "max_tokens": 256},
        "Extract the contact details from the user's text. Reply with JSON only; use null "
        "for anything the text does not say.",
        builtin=True,
        examples=EXTRACT_EXAMPLES,
        reply_format={"type": "json_schema", "name": "contact", "schema": CONTACT_SCHEMA},
    ),
)


@dataclass(frozen=True)
class PresetPlan:
    """What applying a preset would do to the open conversation."""

    preset: Preset
    settings: dict[str, float | int]  # the preset's sampling, fitted to the context
    replaces_custom_prompt: bool  # the current system prompt is the user's own text


def checked_examples(value: Any) -> tuple[dict[str, str], ...]:
    """Example pairs, checked; raises SettingsError."""
    try:
        return tuple(check_examples(list(value) if isinstance(value, tuple) else value))
    except InvalidValueError as error:
        raise SettingsError(str(error)) from None


def _stored_examples(value: Any) -> tuple[dict[str, str], ...]:
    """A saved preset's examples; unreadable ones read as none."""
    try:
        return checked_examples(value or [])
    except SettingsError:
        return ()


class SettingStore(Protocol):
    """The part of ``chatdesk.store.Store`` this service needs."""

    def get_setting(self, key: str, default: Any = None) -> Any: ...

    def set_setting(self, key: str, value: Any) -> None: ...


def validate_sampling(settings: dict[str, Any]) -> dict[str, float | int]:
    """Known keys only, each checked against its limits; raises SettingsError."""
    clean: dict[str, float | int] = {}
    for key, value in settings.items():
        if key not in SAMPLING_LIMITS:
            continue
        clean[key] = _checked(key, value, SAMPLING_LIMITS[key], key in INTEGER_SETTINGS)
    return clean


def validate_model_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Checked per-model load settings (numbers within limits, template as text)."""
    clean: dict[str, Any] = {}
    for key, value in settings.items():
        if key in MODEL_LIMITS:
            clean[key] = _checked(key, value, MODEL_LIMITS[key], integer=True)
        elif key == "chat_template":
            if not isinstance(value, str):
                raise SettingsError("chat template override must be text")
            clean[key] = value
    return clean


def context_cost(n_ctx: int, trained: int, kv_bytes_per_token: int) -> str:
    """What a context length means for a model, said before it is loaded: its KV-cache
    memory, and a warning when it is longer than the model was trained for."""
    if n_ctx <= 0:
        return ""
    cost = f"the KV cache takes about {_size(n_ctx * kv_bytes_per_token)}"
    if trained and n_ctx > trained:
        at_trained = _size(trained * kv_bytes_per_token)
        return (
            f"Longer than the {trained:,} tokens this model was trained on: replies past that "
            f"point may lose coherence, and {cost} (about {at_trained} at {trained:,})."
        )
    return f"At {n_ctx:,} tokens {cost}." if kv_bytes_per_token else ""


def _size(size: int) -> str:
    return f"{size / 2**30:.1f} GB" if size >= 2**30 else f"{size / 2**20:.0f} MB"


def valid_entries(settings: dict[str, Any]) -> dict[str, float | int]:
    """The entries of ``settings`` that are known sampling settings within their limits."""
    valid: dict[str, float | int] = {}
    for key, value in settings.items():
        try:
            valid.update(validate_sampling({key: value}))
        except SettingsError:
            continue
    return valid


def fit_to_context(settings: dict[str, float | int], n_ctx: int | None) -> dict[str, float | int]:
    """``settings`` with max tokens lowered to what the context allows (unchanged when the
    context length is not known)."""
    if not n_ctx or "max_tokens" not in settings:
        return dict(settings)
    return {**settings, "max_tokens": min(int(settings["max_tokens"]), max_reply_tokens(n_ctx))}


def _checked(key: str, value: Any, limits: tuple[float, float], integer: bool) -> float | int:
    """One number, converted and range-checked."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{key} must be a number, not {value!r}")
    if integer and value != int(value):
        raise SettingsError(f"{key} must be a whole number")
    low, high = limits
    if not low <= value <= high:
        raise SettingsError(f"{key} must be between {low:g} and {high:g}, not {value:g}")
    return int(value) if integer else float(value)


class SettingsService:
    """Reads and writes every user-adjustable setting through the store."""

    def __init__(self, store: SettingStore) -> None:
        self._store = store

    # -- sampling -----------------------------------------------------------------
    def effective_sampling(
        self, stored: dict[str, Any] | None, recommended: dict[str, Any] | None = None
    ) -> dict[str, float | int]:
        """llama.cpp's defaults, overlaid by the model's recommended sampling (its GGUF
        header's, when it has one), then by the user's saved defaults, then by a
        conversation's stored settings. Values outside the limits are left out at each
        layer (a hostile header or a damaged row falls back to the layer below)."""
        merged = dict(DEFAULT_SAMPLING)
        for layer in (recommended or {}, self._saved_defaults(), stored or {}):
            merged.update(valid_entries(layer))
        return merged

    def default_sampling(self) -> dict[str, float | int]:
        """Settings a new conversation starts with: only what the user chose (their saved
        defaults); everything else follows the model that answers."""
        return valid_entries(self._saved_defaults())

    def overrides(
        self, shown: dict[str, Any], recommended: dict[str, Any] | None
    ) -> dict[str, float | int]:
        """What a conversation has to store for ``shown``: only the values that differ from
        what it would get anyway, so the rest keeps following the model that answers."""
        base = self.effective_sampling({}, recommended)
        return {k: v for k, v in valid_entries(shown).items() if base.get(k) != v}

    def sampling_sources(
        self, stored: dict[str, Any] | None, recommended: dict[str, Any] | None
    ) -> dict[str, str]:
        """Where each effective value comes from: "conversation", "your defaults", "model"
        (the model's recommendation) or "llama.cpp" (the engine's default)."""
        layers = [
            (name, valid_entries(layer or {}))  # each layer checked once, not once a key
            for name, layer in (
                ("conversation", stored),
                ("your defaults", self._saved_defaults()),
                ("model", recommended),
            )
        ]
        return {
            key: next((name for name, layer in layers if key in layer), "llama.cpp")
            for key in DEFAULT_SAMPLING
        }

    def _saved_defaults(self) -> dict[str, Any]:
        """The user's own defaults for new chats, as stored ("Use for new chats")."""
        saved = self._store.get_setting("sampling.defaults", {}) or {}
        return saved if isinstance(saved, dict) else {}

    def set_default_sampling(self, settings: dict[str, Any]) -> None:
        """Remember settings for new conversations."""
        self._store.set_setting("sampling.defaults", validate_sampling(settings))

    # -- presets ------------------------------------------------------------------
    def presets(self) -> list[Preset]:
        """Built-in presets followed by the user's own, by name."""
        saved = self._store.get_setting(PRESETS_KEY, {}) or {}
        user = [
            Preset(
                name,
                self.effective_sampling(p.get("settings")),
                str(p.get("system_prompt", "")),
                examples=_stored_examples(p.get("examples")),
                reply_format=p.get("reply_format")
                if isinstance(p.get("reply_format"), dict)
                else None,
            )
            for name, p in sorted(saved.items())
            if isinstance(p, dict)
        ]
        return [*BUILTIN_PRESETS, *user]

    def preset(self, name: str) -> Preset:
        """One preset by name; KeyError when there is none."""
        for preset in self.presets():
            if preset.name == name:
                return preset
        raise KeyError(name)

    def matching_preset(self, system_prompt: str, shown: dict[str, Any]) -> str | None:
        """The preset whose system prompt and sampling these are (max tokens and seed
        aside: they follow the context and the run), or None: custom settings."""
        for preset in self.presets():
            same = all(preset.settings.get(k) == shown.get(k) for k in PRESET_IDENTITY)
            if same and preset.system_prompt.strip() == system_prompt.strip():
                return preset.name
        return None

    def preset_plan(self, name: str, current_prompt: str, n_ctx: int | None = None) -> PresetPlan:
        """What applying preset ``name`` means here; KeyError when there is none.

        The current system prompt counts as custom when it is not empty and is not the
        prompt of any preset (a prompt a preset put there may be replaced silently)."""
        preset = self.preset(name)
        known = {p.system_prompt.strip() for p in self.presets()}
        custom = bool(current_prompt.strip()) and current_prompt.strip() not in known
        replaces = custom and current_prompt.strip() != preset.system_prompt.strip()
        settings = fit_to_context({**DEFAULT_SAMPLING, **preset.settings}, n_ctx)
        return PresetPlan(preset, settings, replaces)

    def save_preset(
        self,
        name: str,
        settings: dict[str, Any],
        system_prompt: str,
        examples: tuple[dict[str, str], ...] | list[dict[str, str]] = (),
        reply_format: dict[str, Any] | None = None,
    ) -> Preset:
        """Save (or overwrite) a user preset; built-in names are reserved."""
        name = name.strip()
        if not name:
            raise SettingsError("a preset needs a name")
        if any(p.name == name for p in BUILTIN_PRESETS):
            raise SettingsError(f"{name!r} is a built-in preset; choose another name")
        saved = dict(self._store.get_setting(PRESETS_KEY, {}) or {})
        clean = validate_sampling(settings)
        pairs = checked_examples(examples)
        saved[name] = {"settings": clean, "system_prompt": system_prompt}
        if pairs:
            saved[name]["examples"] = list(pairs)
        if reply_format:
            saved[name]["reply_format"] = reply_format
        self._store.set_setting(PRESETS_KEY, saved)
        return Preset(name, self.effective_sampling(clean), system_prompt, examples=pairs,
                      reply_format=reply_format or None)  # fmt: skip

    def delete_preset(self, name: str) -> None:
        """Forget a user preset (built-in ones cannot be deleted)."""
        if any(p.name == name for p in BUILTIN_PRESETS):
            raise SettingsError(f"{name!r} is a built-in preset")
        saved = dict(self._store.get_setting(PRESETS_KEY, {}) or {})
        saved.pop(name, None)
        self._store.set_setting(PRESETS_KEY, saved)

    # -- models -------------------------------------------------------------------
    def model_settings(self, path: str) -> dict[str, Any]:
        """Load settings saved for one model file (empty: engine defaults)."""
        stored = self._store.get_setting(f"model:{path}", {}) or {}
        try:
            return validate_model_settings(stored)
        except SettingsError:
            return {}

    def set_model_settings(self, path: str, settings: dict[str, Any]) -> None:
        """Save load settings for one model file."""
        self._store.set_setting(f"model:{path}", validate_model_settings(settings))

    def recent_models(self) -> list[str]:
        """Model paths used before, most recent first."""
        recent = self._store.get_setting(RECENT_MODELS_KEY, []) or []
        return [str(p) for p in recent if isinstance(p, str)]

    def remember_model(self, path: str) -> None:
        """Record a model as used (it becomes the last used one)."""
        recent = [p for p in self.recent_models() if p != path]
        self._store.set_setting(RECENT_MODELS_KEY, [path, *recent][:MAX_RECENT_MODELS])
        self._store.set_setting(LAST_MODEL_KEY, path)

    def forget_model(self, path: str) -> None:
        """Drop a model from the recent list (for example after its file vanished)."""
        self._store.set_setting(RECENT_MODELS_KEY, [p for p in self.recent_models() if p != path])

    def api_server_config(self) -> dict[str, Any]:
        """The window's API server switch as last left: on/off, address, port, and whether
        requests are kept as conversations (the API key is never stored here)."""
        saved = self._store.get_setting(API_SERVER_KEY, {}) or {}
        port = saved.get("port")
        return {
            "enabled": saved.get("enabled") is True,
            "host": saved["host"] if isinstance(saved.get("host"), str) else None,
            "port": port if isinstance(port, int) and 0 <= port <= 65535 else None,
            "save": saved.get("save") is True,
        }

    def set_api_server_config(self, enabled: bool, host: str, port: int, save: bool) -> None:
        """Remember the API server switch and its address for the next start."""
        config = {"enabled": bool(enabled), "host": host, "port": int(port), "save": bool(save)}
        self._store.set_setting(API_SERVER_KEY, config)

    def state_cache_limits(self) -> dict[str, int]:
        """RAM and disk (MB) the engine may use for kept conversation KV states."""
        stored = self._store.get_setting(STATE_CACHE_KEY, {}) or {}
        limits = dict(STATE_CACHE_DEFAULTS)
        for key, value in stored.items() if isinstance(stored, dict) else ():
            if key in STATE_CACHE_LIMITS:
                try:
                    limits[key] = int(_checked(key, value, STATE_CACHE_LIMITS[key], True))
                except SettingsError:
                    continue  # a damaged value: its default
        return limits

    def set_state_cache_limits(self, **limits: int) -> dict[str, int]:
        """Change ``state_cache_mb`` and/or ``state_disk_mb`` (used from the next load)."""
        merged = self.state_cache_limits()
        for key, value in limits.items():
            if key not in STATE_CACHE_LIMITS:
                raise SettingsError(f"unknown cache setting {key!r}")
            merged[key] = int(_checked(key, value, STATE_CACHE_LIMITS[key], True))
        self._store.set_setting(STATE_CACHE_KEY, merged)
        return merged

    def last_model(self) -> str | None:
        """The model used most recently, if any."""
        value = self._store.get_setting(LAST_MODEL_KEY, None)
        return value if isinstance(value, str) else None

    # -- window and appearance ----------------------------------------------------
    def conversation_model_policy(self) -> str:
        """Opening a conversation written with another model: "always", "ask" or "never"."""
        value = self._store.get_setting(CONVERSATION_MODEL_KEY, "ask")
        return value if value in CONVERSATION_MODEL_POLICIES else "ask"

    def set_conversation_model_policy(self, policy: str) -> None:
        """Choose what opening such a conversation does."""
        if policy not in CONVERSATION_MODEL_POLICIES:
            raise SettingsError(f"must be one of {', '.join(CONVERSATION_MODEL_POLICIES)}")
        self._store.set_setting(CONVERSATION_MODEL_KEY, policy)

    def ui_value(self, key: str, default: Any = None) -> Any:
        """A window/appearance setting (geometry, theme, font size, last conversation)."""
        return self._store.get_setting(f"ui.{key}", default)

    def set_ui_value(self, key: str, value: Any) -> None:
        """Save a window/appearance setting."""
        self._store.set_setting(f"ui.{key}", value)
