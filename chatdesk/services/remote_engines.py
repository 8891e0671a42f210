"""The window's (and CLI's) one way to manage remote engines and list their models.

A thin service over ``RemoteEngineRegistry``: the UI never touches the registry or the
network itself. ``models_async`` asks every engine for its models on worker threads, so the
model picker can group remote models by engine without blocking the window.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from chatdesk.engine.types import ContextFitted, EngineError, ReplyEvent
from chatdesk.remote.engine import RemoteEngine
from chatdesk.remote.registry import (
    KEEP,
    RegistryError,
    RemoteEngineConfig,
    RemoteEngineRegistry,
    SettingStore,
)
from chatdesk.remote.sampling import SamplingReport
from chatdesk.remote.server_info import RemoteModel

__all__ = [
    "KEEP",
    "RegistryError",
    "RemoteEngineService",
    "RemoteModel",
    "record_sampling_report",
    "remote_model_key",
]
REMOTE_PREFIX = "remote:"  # model keys of remote models: "remote:ENGINE/MODEL_ID"


def remote_model_key(engine: str, model_id: str) -> str:
    """How a remote model is named among model paths (picker, recent models, conversations)."""
    return f"{REMOTE_PREFIX}{engine}/{model_id}"


def parse_remote_model_key(key: str) -> tuple[str, str] | None:
    """(engine, model id) of a remote model key, or None for a local model path."""
    if not key.startswith(REMOTE_PREFIX) or "/" not in key:
        return None
    engine, _, model_id = key[len(REMOTE_PREFIX) :].partition("/")
    return (engine, model_id) if engine and model_id else None


def record_sampling_report(turn: Any, event: ReplyEvent) -> None:
    """Turn event hook: keep which settings a remote server got and which it does not take.

    Stored with the reply (``turn.data``: ``sampling_sent``, ``sampling_not_sent``) so the
    window and the CLI can show them; local replies carry no report and get nothing.
    """
    report = getattr(turn.handle, "report", None)
    if isinstance(event, ContextFitted) and isinstance(report, SamplingReport):
        turn.data["sampling_sent"] = dict(report.sent)
        turn.data["sampling_not_sent"] = list(report.not_sent)
        turn.data["sampling_report"] = report.describe()


class RemoteEngineService:
    """Add, edit, remove remote engines; list their models; open one."""

    def __init__(self, store: SettingStore) -> None:
        self.registry = RemoteEngineRegistry(store)

    def engines(self) -> list[RemoteEngineConfig]:
        """Every remote engine, by name."""
        return self.registry.list()

    def add(self, name: str, url: str, api_key: str | None = None, **options: Any) -> str:
        """Add an engine; a note on where its key went ('' without a key)."""
        return self.registry.add(name, url, api_key, **options)[1]

    def edit(
        self, name: str, url: str | None = None, api_key: str | None = None, **options: Any
    ) -> str:
        """Change an engine; a note on where a new key went."""
        return self.registry.edit(name, url, api_key, **options)[1]

    def remove(self, name: str) -> None:
        """Forget an engine and its key."""
        self.registry.remove(name)

    def open_engine(self, name: str) -> RemoteEngine:
        """A ``RemoteEngine`` for ``name`` (RegistryError if unknown or its key is missing)."""
        return self.registry.open(name)

    def all_models(self, timeout: float = 5.0) -> dict[str, list[str]]:
        """Every engine's model ids (blocking; an engine that does not answer lists none)."""
        found: dict[str, list[str]] = {}
        futures = {c.name: self.models_async(c.name) for c in self.engines()}
        for name, future in futures.items():
            try:
                found[name] = [m.id for m in future.result(timeout=timeout)]
            except Exception:  # unreachable, key missing...: shown as an empty group
                found[name] = []
        return found

    def is_available(self, key: str) -> bool:
        """True for a remote model key whose engine is registered."""
        parsed = parse_remote_model_key(key)
        return parsed is not None and any(c.name == parsed[0] for c in self.engines())

    def models_async(self, name: str) -> Future[list[RemoteModel]]:
        """The models ``name`` serves, fetched on a daemon thread."""
        future: Future[list[RemoteModel]] = Future()

        def run() -> None:
            try:
                engine = self.open_engine(name)
                try:
                    future.set_result(engine.models().result())
                finally:
                    engine.close()
            except (EngineError, RegistryError) as error:
                future.set_exception(error)

        threading.Thread(target=run, name="remote-models", daemon=True).start()
        return future
