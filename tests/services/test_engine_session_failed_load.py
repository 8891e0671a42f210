"""A failed load never throws the working model away (the session's side of it)."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from chatdesk.engine.types import EngineError, LoadOptions, ModelInfo
from chatdesk.services.engine_session import EngineSession, ModelState
from chatdesk.services.settings import SettingsService
from chatdesk.store import Store
from tests.support.scripted_engine import ScriptedEngine


class FreeingEngine(ScriptedEngine):
    """Like the engine host: a file that passes validation but fails in llama.cpp has
    already cost the loaded model (code ``load_failed``)."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []

    def load(self, options: LoadOptions) -> Future[ModelInfo]:
        self.loads.append(Path(options.path).name)
        if Path(options.path).name.startswith("unloadable"):
            future: Future[ModelInfo] = Future()
            future.set_exception(EngineError("llama.cpp could not load it", "load_failed"))
            return future
        return super().load(options)


def session(tmp_path: Path, engine: ScriptedEngine) -> EngineSession:
    return EngineSession(SettingsService(Store(tmp_path / "s.db")), lambda: engine)


def gguf(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(b"GGUF" + bytes(60))
    return str(path)


def test_a_refused_file_leaves_the_model_ready(tmp_path: Path) -> None:
    engine = ScriptedEngine()
    models = session(tmp_path, engine)
    good = gguf(tmp_path, "good.gguf")
    models.load(good)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"nope")
    models.load(str(bad))
    assert models.status.state is ModelState.READY
    assert models.status.path == good
    assert models.status.load_error == "bad.gguf: bad.gguf is not a GGUF file"


def test_a_model_the_engine_freed_is_loaded_again(tmp_path: Path) -> None:
    engine = FreeingEngine()
    models = session(tmp_path, engine)
    good = gguf(tmp_path, "good.gguf")
    models.load(good)
    models.load(gguf(tmp_path, "unloadable.gguf"))
    assert engine.loads == ["good.gguf", "unloadable.gguf", "good.gguf"]
    assert models.status.state is ModelState.READY
    assert models.status.path == good
    assert models.status.load_error == "unloadable.gguf: llama.cpp could not load it"


def test_without_a_previous_model_a_failure_is_a_failure(tmp_path: Path) -> None:
    models = session(tmp_path, FreeingEngine())
    models.load(gguf(tmp_path, "unloadable.gguf"))
    assert models.status.state is ModelState.FAILED
    assert models.status.error == "llama.cpp could not load it"
