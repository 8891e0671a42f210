"""Fixtures for the packaging tests: the scripts in packaging/, loaded by file path.

``packaging/`` is not a Python package (it would shadow the ``packaging`` library), so its
modules are loaded from their files, each once per test session.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"


def load_script(name: str) -> ModuleType:
    """Import packaging/<name>.py under its own name (its siblings import it that way)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bundle_config() -> ModuleType:
    """packaging/bundle_config.py: what goes into the frozen bundle."""
    return load_script("bundle_config")


@pytest.fixture(scope="session")
def check_llama() -> ModuleType:
    """packaging/check_llama.py: is the installed llama.cpp portable."""
    load_script("bundle_config")
    return load_script("check_llama")


@pytest.fixture(scope="session")
def launcher() -> ModuleType:
    """packaging/launcher.py: the frozen app's entry point."""
    return load_script("launcher")


@pytest.fixture
def fake_lib_dir(tmp_path: Path) -> Path:
    """A llama_cpp/lib as a GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS + CUDA wheel lays it out."""
    lib_dir = tmp_path / "llama_cpp" / "lib"
    lib_dir.mkdir(parents=True)
    for name in (
        "libllama.so",
        "libllama.so.0",
        "libllama.so.0.5.0",
        "libggml.so",
        "libggml.so.0",
        "libggml-base.so",
        "libggml-base.so.0",
        "libggml-cpu-x64.so",
        "libggml-cpu-haswell.so",
        "libggml-cpu-skylakex.so",
        "libggml-cuda.so",
        "README.txt",
    ):
        (lib_dir / name).write_bytes(name.encode())
    (lib_dir / "cmake").mkdir()
    return lib_dir
