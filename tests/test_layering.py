"""Architecture rules: only chatdesk.ui imports Qt, only the engine host imports llama_cpp,
and the UI and the command line reach the store and the hub only through the services."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chatdesk"
LLAMA_ALLOWED = ("engine/host",)  # only the engine-host process owns llama.cpp


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a source file imports, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def imported_full_names(path: Path) -> set[str]:
    """Full dotted names of every module a source file imports, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def source_files(excluded: tuple[str, ...]) -> list[Path]:
    """Every module of the package outside the named sub-package paths."""
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not path.relative_to(PACKAGE).as_posix().startswith(excluded)
    ]


@pytest.mark.parametrize("path", source_files(("ui",)), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_non_ui_modules_never_import_qt(path: Path) -> None:
    assert not imported_modules(path) & {"PySide6", "shiboken6", "PyQt5", "PyQt6"}


@pytest.mark.parametrize(
    "path", source_files(LLAMA_ALLOWED), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_llama_cpp_only_inside_engine(path: Path) -> None:
    assert "llama_cpp" not in imported_modules(path)


UI_FILES = sorted((PACKAGE / "ui").rglob("*.py"))


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_ui_talks_to_services_not_store_or_hub(path: Path) -> None:
    forbidden = (
        "chatdesk.store",
        "chatdesk.hub",
        "chatdesk.engine.client",
        "chatdesk.remote",
        "chatdesk.api",
    )
    bad = {n for n in imported_full_names(path) if n.startswith(forbidden)}
    assert not bad, f"{path.name} imports {sorted(bad)}; go through chatdesk.services"


CLI_FILES = sorted((PACKAGE / "cli").rglob("*.py"))
OPENED_BY_SERVICES = {"Store", "Downloader", "Library"}  # the CLI never makes these itself


def called_names(path: Path) -> set[str]:
    """Names of everything a source file calls directly (``Store()``, ``x.Store()``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names.add(node.func.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            names.add(node.func.attr)
    return names


@pytest.mark.parametrize("path", CLI_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_cli_talks_to_services_not_store_or_hub(path: Path) -> None:
    bad = {n for n in imported_full_names(path) if n.startswith(("chatdesk.store", "chatdesk.hub"))}
    assert not bad, f"{path.name} imports {sorted(bad)}; go through chatdesk.services"
    opened = called_names(path) & OPENED_BY_SERVICES
    assert not opened, f"{path.name} opens {sorted(opened)} itself; a service owns it"


# One way into the GUI thread: the bridge. A window module that starts threads, polls
# futures or waits on queues has built its own channel; these may touch threading, and why.
THREADS_ALLOWED = {
    "bridge.py": "the bridge and Background: the one way from threads into the GUI",
    "crash.py": "installs threading.excepthook (its reports travel through the bridge)",
    "tool_approval.py": "the tool's worker waits on an Event for the user's answer",
}
THREAD_MODULES = {"threading", "concurrent", "queue", "_thread", "multiprocessing"}


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_threads_reach_the_window_only_through_the_bridge(path: Path) -> None:
    if path.name in THREADS_ALLOWED:
        return
    used = imported_modules(path) & THREAD_MODULES
    assert not used, f"{path.name} imports {sorted(used)}: use chatdesk.ui.bridge instead"
    qt_threads = {n for n in imported_full_names(path) if n.endswith(("QThread", "QThreadPool"))}
    assert not qt_threads, f"{path.name} uses {sorted(qt_threads)}: use the bridge's Background"


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_timer_polls_a_future(path: Path) -> None:
    calls = called_names(path)
    assert not ({"QTimer"} & calls and {"done", "result"} & calls and path.name != "bridge.py"), (
        f"{path.name} polls with a QTimer: let Background.when_done call back instead"
    )


def test_importing_back_end_layers_loads_neither_qt_nor_llama() -> None:
    code = (
        "import sys, pkgutil, importlib, chatdesk\n"
        "for m in pkgutil.walk_packages(chatdesk.__path__, 'chatdesk.'):\n"
        "    skip = ('chatdesk.ui', 'chatdesk.engine.host', 'chatdesk.__main__')\n"
        "    if not m.name.startswith(skip):\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('PySide6', 'llama_cpp'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def chatdesk_imports(path: Path) -> set[str]:
    """The chatdesk sub-packages a source file imports (``chatdesk.x.y`` -> ``x``)."""
    return {n.split(".")[1] for n in imported_full_names(path) if n.startswith("chatdesk.")}


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "probabilities").glob("*.py")), ids=lambda p: p.name
)
def test_probabilities_depend_only_on_engine_types(path: Path) -> None:
    assert chatdesk_imports(path) <= {"engine", "probabilities"}


# New capability packages sit beside or below the services: never the window, the command
# line or (except the API server) the services. Tools do not reach the engine either.
FORBIDDEN = {
    "remote": {"ui", "cli", "services", "api", "store"},
    "api": {"ui", "cli"},
    "tools": {"ui", "cli", "services", "engine"},
    "docs": {"ui", "cli", "services"},
}


@pytest.mark.parametrize(
    ("package", "path"),
    [(pkg, path) for pkg in FORBIDDEN for path in sorted((PACKAGE / pkg).rglob("*.py"))],
    ids=lambda value: value if isinstance(value, str) else str(value.relative_to(PACKAGE)),
)
def test_new_packages_point_one_way(package: str, path: Path) -> None:
    assert not chatdesk_imports(path) & FORBIDDEN[package]
