"""The loaded model as the app sees it: one engine, its state, its identity and its errors.

A failed load never throws a working model away. A file the engine refuses before loading
(not GGUF, truncated: ``invalid_model``) leaves the loaded model in place, and the status
goes back to it, READY, carrying ``load_error`` (what failed and why) for the front end to
show. Any other failure (llama.cpp could not load a valid-looking file, after the engine had
freed the old model) loads the previous model again, and it too reports the ``load_error``.

The session programs against ``chatdesk.engine.interface.Engine``: the local engine host for
model files, and a remote engine for a remote model key (``remote:ENGINE/MODEL_ID``, see
``chatdesk.services.remote_engines``), opened through ``remote_engines`` and kept until
closed, so switching back and forth reuses each engine. While ChatDesk's API server runs,
``lane`` is the scheduler's priority lane and replies go through it (``engine``);
``raw_engine`` is always the loaded model's own engine. Loading runs in the engine; when the load
future finishes, the outcome is handed to the owner's thread through the session's
``Dispatch`` and every listener is told (``model_changed(status)``). Nothing here blocks or
imports Qt; ``wait_loaded`` is for the command line, which has nothing else to do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatdesk.engine.interface import Engine, WarmsConversations
from chatdesk.engine.types import EngineError, EngineHostDied, ErrorCode, LoadOptions, ModelInfo
from chatdesk.services.events import Dispatch, run_inline
from chatdesk.services.model_choices import remember_used_async
from chatdesk.services.model_identity import HashCache, identity_for
from chatdesk.services.remote_engines import parse_remote_model_key
from chatdesk.services.settings import SettingsService
from chatdesk.services.turns import describe_error

if TYPE_CHECKING:
    from chatdesk.engine.client import EngineClient

log = logging.getLogger("chatdesk.engine")
COUNT_TIMEOUT_S = 120.0  # a count waits behind a reply the engine is writing


class ModelState(enum.Enum):
    """Where the model stands."""

    NONE = "none"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"
    DIED = "died"


@dataclass
class ModelStatus:
    """A snapshot for the front ends: state, which file, its info or the reason it failed."""

    state: ModelState
    path: str | None = None
    info: ModelInfo | None = None
    error: str | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    load_error: str | None = None  # READY again after another file failed to load: why

    @property
    def name(self) -> str:
        """The file name without its extension (what the picker shows)."""
        return Path(self.path).stem if self.path else ""


def load_options(
    path: str, settings: dict[str, Any], cache_limits: dict[str, int] | None = None
) -> LoadOptions:
    """LoadOptions for a file from its saved per-model settings (0/-1/"" mean default) and
    the app's budgets for kept conversation states (``SettingsService.state_cache_limits``)."""
    return LoadOptions(
        path=path,
        n_ctx=settings.get("n_ctx") or None,
        n_gpu_layers=None if settings.get("n_gpu_layers", -1) < 0 else settings["n_gpu_layers"],
        n_threads=settings.get("n_threads") or None,
        chat_template=settings.get("chat_template") or None,
        flash_attn=None if settings.get("flash_attn", -1) < 0 else bool(settings["flash_attn"]),
        state_cache_mb=(cache_limits or {}).get("state_cache_mb"),
        state_disk_mb=(cache_limits or {}).get("state_disk_mb"),
    )


def local_engine() -> Engine:
    """The default engine: a llama.cpp engine host process (imported only when needed)."""
    from chatdesk.engine.client import EngineClient

    return EngineClient()


ModelListener = Callable[[ModelStatus], None]


class EngineSession:
    """Owns the engine and the state of the one loaded model."""

    def __init__(
        self,
        settings: SettingsService,
        engine_factory: Callable[[], Engine] = local_engine,
        dispatch: Dispatch = run_inline,
        hashes: HashCache | None = None,
        kind: str = "local",
        *,
        remote_engines: Callable[[str], Engine] | None = None,
    ) -> None:
        self._settings = settings
        self._factory = engine_factory
        self._remote_opener = remote_engines
        self._engines: dict[str, Engine] = {}  # "local" or "remote:NAME" -> engine
        self._active = "local"
        self.lane: Engine | None = None
        self.dispatch = dispatch
        self.hashes = hashes
        self.kind = kind
        self.status = ModelStatus(ModelState.NONE)
        self._listeners: list[ModelListener] = []
        self._load_serial = 0
        self._load_started = 0.0  # when the current load began (monotonic), for the log
        self._previous: ModelStatus | None = None  # the model a running load replaces
        self._restoring: str | None = None  # the failure to report once it is back

    def add_listener(self, listener: ModelListener) -> None:
        """Call ``listener(status)`` on the owner's thread whenever the state changes."""
        self._listeners.append(listener)

    def remove_listener(self, listener: ModelListener) -> None:
        """Stop calling ``listener`` (a window that closes)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def engine(self) -> Engine:
        """The engine replies go through: the API scheduler's lane while it runs, else raw."""
        return self.lane or self.raw_engine

    def local_client(self) -> EngineClient | None:
        """The llama.cpp engine host client of this session's local models (created on
        first use), whatever engine replies go through now (the API server's lane, a
        remote engine): documents embed through it, so no second engine host starts.
        None when the local engine is not an engine host (a test's stand-in)."""
        from chatdesk.engine.client import EngineClient

        if "local" not in self._engines:
            self._engines["local"] = self._open("local")
        local = self._engines["local"]
        return local if isinstance(local, EngineClient) else None

    @property
    def raw_engine(self) -> Engine:
        """The loaded model's engine (the local one created on first use)."""
        if self._active not in self._engines:
            self._engines[self._active] = self._open(self._active)
        return self._engines[self._active]

    @property
    def warmer(self) -> WarmsConversations | None:
        """The engine a warm goes to: the loaded model's own, also while the API server's
        lane takes the replies (a warm is a hint the engine host puts after any request; the
        lane only orders replies). None where it cannot warm (a remote server)."""
        engine = self.raw_engine
        return engine if isinstance(engine, WarmsConversations) else None

    def _open(self, key: str) -> Engine:
        if key == "local":
            return self._factory()
        if self._remote_opener is None:
            raise EngineError("remote engines are not available here", "no_remote")
        return self._remote_opener(key.removeprefix("remote:"))

    @property
    def model_path(self) -> str | None:
        """The loaded (or loading) model as replies record it."""
        return self.status.path

    @property
    def ready(self) -> bool:
        """True when a model is loaded and can generate."""
        return self.status.state is ModelState.READY

    def recommended_sampling(self) -> dict[str, float | int]:
        """The loaded model's recommended sampling (from its GGUF header; empty if none)."""
        info = self.status.info if self.ready else None
        return dict(info.recommended_sampling) if info is not None else {}

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The loaded model's tokens of each text, as its engine counts them (blocking: not
        for a GUI thread). EngineError where none is loaded or the engine cannot answer."""
        if not self.ready:
            raise EngineError("no model is loaded", ErrorCode.NO_MODEL)
        try:
            return self.engine.count_tokens(texts).result(timeout=COUNT_TIMEOUT_S)
        except TimeoutError:
            raise EngineError("the engine did not count in time", "timeout") from None

    def warm_up(self) -> None:
        """Start the engine now, so it imports llama.cpp while the user picks a model."""
        try:
            self.raw_engine.start()
        except Exception as error:  # the next load() reports why the host cannot start
            log.warning("engine warm-up failed: %s", error)

    def load(self, path: str, options: LoadOptions | None = None) -> Future[ModelInfo] | None:
        """Start loading a model (a file, or a remote model key); listeners hear the outcome."""
        remote = parse_remote_model_key(path)
        if remote is not None:
            self._active, self.kind, options = (
                f"remote:{remote[0]}",
                "remote",
                LoadOptions(remote[1]),
            )
        else:
            self._active, self.kind = "local", "local"
        options = options or load_options(
            path, self._settings.model_settings(path), self._settings.state_cache_limits()
        )
        self._load_serial += 1
        self._load_started = time.monotonic()
        serial = self._load_serial
        if self.status.state is ModelState.READY:
            self._previous = self.status
        self._set(ModelStatus(ModelState.LOADING, path))
        log.info("loading model %s", path)
        try:
            future = self.raw_engine.load(options)
        except Exception as error:  # the host may fail to start at all
            self._fail(error)
            return None
        future.add_done_callback(lambda done: self.dispatch(lambda: self._loaded(serial, done)))
        return future

    def _loaded(self, serial: int, future: Future[ModelInfo]) -> None:
        if serial != self._load_serial:
            return  # a newer load replaced this one
        error = future.exception()
        if error is not None:
            self._fail(error)
            return
        path = self.status.path or ""
        info = future.result()
        identity = identity_for(path, info.name, self.kind, self.hashes)
        log.info(
            "model loaded: %s (%s, engine %s, context %s) in %.1f s",
            path, info.backend, self.kind, info.n_ctx or "unknown",  # 0: the engine did not say
            time.monotonic() - self._load_started,
        )  # fmt: skip
        self._settings.remember_model(path)
        if self.kind == "local":
            remember_used_async(path)
        failure, self._restoring, self._previous = self._restoring, None, None
        self._set(ModelStatus(ModelState.READY, path, info, identity=identity, load_error=failure))

    def identity(self) -> dict[str, Any]:
        """The loaded model's identity, refreshed (its digest may have been computed since)."""
        status = self.status
        if not status.path:
            return {}
        name = status.info.name if status.info else None
        return identity_for(status.path, name, self.kind, self.hashes)

    def host_died(self, error: BaseException) -> None:
        """The host went away (mid-reply or otherwise): the model must be reloaded."""
        log.error("engine host died: %s", describe_error(error))
        self._set(ModelStatus(ModelState.DIED, self.status.path, None, describe_error(error)))

    def unload(self) -> None:
        """Forget the model and free the engine's memory."""
        engine = self._engines.get(self._active)
        if engine is not None and self.ready:
            with contextlib.suppress(Exception):  # a dead host has nothing left to free
                engine.unload()
            log.info("model unloaded: %s", self.status.path)
        self._set(ModelStatus(ModelState.NONE))

    def close(self) -> None:
        """Stop the engine (at window close or command end)."""
        engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.close()
        if engines:
            log.info("engine stopped")

    def _fail(self, error: BaseException) -> None:
        state = ModelState.DIED if isinstance(error, EngineHostDied) else ModelState.FAILED
        reason = f"{Path(self.status.path or '').name}: {describe_error(error)}"
        log.error("model load failed (%s): %s", self.status.path, describe_error(error))
        previous, self._previous = self._previous, None
        if previous is None or state is ModelState.DIED or self._restoring is not None:
            self._restoring = None
            self._set(ModelStatus(state, self.status.path, None, describe_error(error)))
        elif getattr(error, "code", None) == ErrorCode.INVALID_MODEL:
            self._set(dataclasses.replace(previous, load_error=reason))  # it never left
        else:
            self._restoring = reason  # the engine freed it: load it again
            self.load(previous.path or "")

    def _set(self, status: ModelStatus) -> None:
        self.status = status
        for listener in list(self._listeners):
            listener(status)
