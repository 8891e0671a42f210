"""Application-wide settings: small JSON values stored under string keys."""

from __future__ import annotations

import json
from typing import Any

from chatdesk.store.base import StoreBase, synchronized
from chatdesk.store.errors import InvalidValueError


class SettingsMixin(StoreBase):
    """The app-settings part of ``Store``."""

    @synchronized
    def get_setting(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key``, or ``default``."""
        row = self._row("SELECT value FROM app_settings WHERE key = ?", [key])
        return default if row is None else json.loads(row[0])

    @synchronized
    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value under ``key`` (replacing any old value)."""
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise InvalidValueError(f"setting {key!r} is not JSON-serialisable: {error}") from error
        self._write(
            "INSERT INTO app_settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, text],
        )

    @synchronized
    def delete_setting(self, key: str) -> None:
        """Forget the value stored under ``key`` (no error if there is none)."""
        self._write("DELETE FROM app_settings WHERE key = ?", [key])
