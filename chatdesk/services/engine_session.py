"""The loaded model as the window sees it: one engine client, its state and its errors.

Loading runs in the engine host; ``poll()`` (called by the window's frame timer on the GUI
thread) notices when the load future has finished. Nothing here blocks or imports Qt.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import EngineHostDied, LoadOptions, ModelInfo
from chatdesk.services.model_choices import remember_used_async
from chatdesk.services.settings import SettingsService


class ModelState(enum.Enum):
    """Where the model stands."""

    NONE = "none"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"
    DIED = "died"


@dataclass
class ModelStatus:
    """A snapshot for the window: state, which file, its info or the reason it failed."""

    state: ModelState
    path: str | None = None
    info: ModelInfo | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        """The file name without its extension (what the picker shows)."""
        return Path(self.path).stem if self.path else ""


def load_options(path: str, settings: dict[str, Any]) -> LoadOptions:
    """LoadOptions for a file from its saved per-model settings (0/-1/"" mean default)."""
    return LoadOptions(
        path=path,
        n_ctx=settings.get("n_ctx") or None,
        n_gpu_layers=None if settings.get("n_gpu_layers", -1) < 0 else settings["n_gpu_layers"],
        n_threads=settings.get("n_threads") or None,
        chat_template=settings.get("chat_template") or None,
    )


class EngineSession:
    """Owns the engine client and the state of the one loaded model."""

    def __init__(
        self,
        settings: SettingsService,
        client_factory: Callable[[], EngineClient] = EngineClient,
    ) -> None:
        self._settings = settings
        self._client_factory = client_factory
        self._client: EngineClient | None = None
        self._future: Future[ModelInfo] | None = None
        self.status = ModelStatus(ModelState.NONE)

    @property
    def client(self) -> EngineClient:
        """The engine client, started on first use."""
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def warm_up(self) -> None:
        """Start the engine host now, so it imports llama.cpp while the user picks a model.

        Only spawns the process; a failure here is reported by the first real request.
        """
        try:
            self.client.start()
        except Exception:  # the next load() reports why the host cannot start
            return

    @property
    def ready(self) -> bool:
        """True when a model is loaded and can generate."""
        return self.status.state is ModelState.READY

    def load(self, path: str) -> None:
        """Start loading a model in the engine host; ``poll()`` reports the outcome."""
        options = load_options(path, self._settings.model_settings(path))
        self.status = ModelStatus(ModelState.LOADING, path)
        try:
            self._future = self.client.load(options)
        except Exception as error:  # the host may fail to start at all
            self._fail(error)

    def poll(self) -> bool:
        """Check a pending load; True when the state changed."""
        future = self._future
        if future is None or not future.done():
            return False
        self._future = None
        error = future.exception()
        if error is not None:
            self._fail(error)
        else:
            self.status = ModelStatus(ModelState.READY, self.status.path, future.result())
            if self.status.path:
                self._settings.remember_model(self.status.path)
                remember_used_async(self.status.path)
        return True

    def host_died(self, error: BaseException) -> None:
        """The host went away (mid-reply or otherwise): the model must be reloaded."""
        self.status = ModelStatus(ModelState.DIED, self.status.path, None, describe_error(error))

    def unload(self) -> None:
        """Forget the model and free the host's memory."""
        if self._client is not None and self.ready:
            with contextlib.suppress(Exception):  # a dead host has nothing left to free
                self._client.unload()
        self.status = ModelStatus(ModelState.NONE)

    def close(self) -> None:
        """Stop the engine host (at window close)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _fail(self, error: BaseException) -> None:
        state = ModelState.DIED if isinstance(error, EngineHostDied) else ModelState.FAILED
        self.status = ModelStatus(state, self.status.path, None, describe_error(error))


def describe_error(error: BaseException) -> str:
    """The engine's reason in one readable string."""
    text = str(error).strip()
    return text or type(error).__name__
