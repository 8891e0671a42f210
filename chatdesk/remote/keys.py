"""API keys of remote engines: the OS keyring, or this session only, or an environment variable.

Keys go to the operating system's keyring (``keyring``: macOS Keychain, Windows Credential
Locker, the Secret Service on Linux) under the service ``chatdesk`` and the engine's name.
Where no keyring backend exists (a headless Linux box), ``store_key`` says so and keeps the
key in this process's memory only: it is never written in plain text. An engine added with
``--api-key-env VAR`` keeps no key at all; it reads ``$VAR`` every time it connects.
"""

from __future__ import annotations

import contextlib
import os
import threading

import keyring
import keyring.errors
from keyring.backends import fail

SERVICE = "chatdesk"
_session_keys: dict[str, str] = {}
_session_lock = threading.Lock()


def keyring_available() -> bool:
    """True when a real keyring backend (not the 'fail' placeholder) is configured."""
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration counts as none
        return False
    return not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 1) > 0


def store_key(engine: str, key: str) -> str:
    """Keep ``key`` for ``engine``: where it went, in words for the user."""
    if keyring_available():
        try:
            keyring.set_password(SERVICE, engine, key)
            return "saved in the system keyring"
        except keyring.errors.KeyringError as error:
            reason = f"the system keyring failed ({error})"
    else:
        reason = "no system keyring is available"
    with _session_lock:
        _session_keys[engine] = key
    return f"{reason}: the key is kept for this session only (use --api-key-env VAR to keep it)"


def load_key(engine: str, env_var: str | None = None) -> str | None:
    """The key for ``engine``: from ``$env_var`` when given, else session, else keyring."""
    if env_var:
        return os.environ.get(env_var) or None
    with _session_lock:
        if engine in _session_keys:
            return _session_keys[engine]
    if not keyring_available():
        return None
    try:
        return keyring.get_password(SERVICE, engine)
    except keyring.errors.KeyringError:
        return None


def delete_key(engine: str) -> None:
    """Forget the key of ``engine`` everywhere it may be kept."""
    with _session_lock:
        _session_keys.pop(engine, None)
    if keyring_available():
        with contextlib.suppress(keyring.errors.KeyringError):  # there was none
            keyring.delete_password(SERVICE, engine)
