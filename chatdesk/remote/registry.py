"""The remote engines the user added: name, base URL, where the API key comes from.

Kept as one JSON app setting (``remote_engines``: name -> record), so no migration is
needed. A record never holds a key: the key is in the OS keyring or this session's memory
(``chatdesk.remote.keys``), or is read from an environment variable named in the record
each time the engine is opened.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from chatdesk.remote import keys
from chatdesk.remote.connection import AddressError, ServerAddress, normalize_base_url
from chatdesk.remote.engine import RemoteEngine

SETTING_KEY = "remote_engines"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ENV_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KEEP = object()  # "leave this field as it is" for ``edit``


class RegistryError(ValueError):
    """A bad name, URL or option, or an engine that does not exist (one-line message)."""


class SettingStore(Protocol):
    """The part of ``chatdesk.store.Store`` the registry needs."""

    def get_setting(self, key: str, default: Any = None) -> Any: ...

    def set_setting(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class RemoteEngineConfig:
    """One remote engine as the user added it."""

    name: str
    base_url: str
    api_key_env: str | None = None  # read the key from this variable each time
    ca_bundle: str | None = None  # PEM file of CA certificates for a private CA
    has_key: bool = False  # a key was stored in the keyring (or this session)

    @property
    def key_source(self) -> str:
        """Where the API key comes from, in words."""
        if self.api_key_env:
            return f"${self.api_key_env}"
        return "keyring" if self.has_key else "none"


def check_name(name: str) -> str:
    """A valid engine name (letters, digits, . _ -; up to 64 characters)."""
    if not NAME_PATTERN.match(name):
        raise RegistryError(
            f"engine name {name!r}: use letters, digits, '.', '_' or '-' (up to 64 characters)"
        )
    return name


def check_env(name: str | None) -> str | None:
    """A valid environment variable name, or None."""
    if name is not None and not ENV_PATTERN.match(name):
        raise RegistryError(f"not an environment variable name: {name!r}")
    return name


def check_ca_bundle(path: str | None) -> str | None:
    """An existing CA bundle file as an absolute path, or None."""
    if path is None:
        return None
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise RegistryError(f"CA bundle {path} is not a file")
    return str(resolved)


def check_url(url: str) -> str:
    """A normalized base URL (``/v1`` added when the URL has no path)."""
    try:
        return normalize_base_url(url)
    except AddressError as error:
        raise RegistryError(str(error)) from None


class RemoteEngineRegistry:
    """Add, edit, list, remove remote engines; open one as a ``RemoteEngine``."""

    def __init__(self, store: SettingStore) -> None:
        self._store = store

    def _records(self) -> dict[str, dict[str, Any]]:
        saved = self._store.get_setting(SETTING_KEY, {}) or {}
        return {k: v for k, v in saved.items() if isinstance(v, dict)}

    def list(self) -> list[RemoteEngineConfig]:
        """Every engine, by name."""
        return [self._config(name, record) for name, record in sorted(self._records().items())]

    def get(self, name: str) -> RemoteEngineConfig:
        """One engine; RegistryError naming the known ones when there is none."""
        records = self._records()
        if name not in records:
            known = ", ".join(sorted(records)) or "none yet (chatdesk engines add NAME URL)"
            raise RegistryError(f"no remote engine named {name!r} (known: {known})")
        return self._config(name, records[name])

    @staticmethod
    def _config(name: str, record: dict[str, Any]) -> RemoteEngineConfig:
        return RemoteEngineConfig(
            name=name,
            base_url=str(record.get("base_url", "")),
            api_key_env=record.get("api_key_env") or None,
            ca_bundle=record.get("ca_bundle") or None,
            has_key=bool(record.get("has_key")),
        )

    def add(
        self,
        name: str,
        base_url: str,
        api_key: str | None = None,
        api_key_env: str | None = None,
        ca_bundle: str | None = None,
    ) -> tuple[RemoteEngineConfig, str]:
        """Add an engine; the config and a note on where its key went ('' if none)."""
        if check_name(name) in self._records():
            raise RegistryError(f"a remote engine named {name!r} exists (edit or remove it)")
        config = RemoteEngineConfig(
            name, check_url(base_url), check_env(api_key_env), check_ca_bundle(ca_bundle)
        )
        return self._save(config, api_key)

    def edit(
        self,
        name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: Any = KEEP,
        ca_bundle: Any = KEEP,
    ) -> tuple[RemoteEngineConfig, str]:
        """Change an engine's URL, key, key variable or CA bundle (None clears the last two)."""
        config = self.get(name)
        if base_url is not None:
            config = replace(config, base_url=check_url(base_url))
        if api_key_env is not KEEP:
            config = replace(config, api_key_env=check_env(api_key_env))
        if ca_bundle is not KEEP:
            config = replace(config, ca_bundle=check_ca_bundle(ca_bundle))
        return self._save(config, api_key)

    def _save(
        self, config: RemoteEngineConfig, api_key: str | None
    ) -> tuple[RemoteEngineConfig, str]:
        note = ""
        if api_key:
            note = keys.store_key(config.name, api_key)
            config = replace(config, has_key=True, api_key_env=None)
        records = self._records()
        record = asdict(config)
        del record["name"]
        records[config.name] = record
        self._store.set_setting(SETTING_KEY, records)
        return config, note

    def remove(self, name: str) -> None:
        """Forget an engine and its stored key."""
        self.get(name)
        records = self._records()
        del records[name]
        self._store.set_setting(SETTING_KEY, records)
        keys.delete_key(name)

    def address(self, name: str, **timeouts: float) -> ServerAddress:
        """How to reach an engine now (its key looked up at this moment)."""
        config = self.get(name)
        key = keys.load_key(name, config.api_key_env)
        if config.api_key_env and key is None:
            raise RegistryError(
                f"engine {name!r} reads its API key from ${config.api_key_env}, which is not set"
            )
        return ServerAddress(config.base_url, key, config.ca_bundle, **timeouts)

    def open(self, name: str, **timeouts: float) -> RemoteEngine:
        """A ``RemoteEngine`` for ``name`` (no request made yet)."""
        return RemoteEngine(self.address(name, **timeouts), name=name)
