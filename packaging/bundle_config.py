"""What goes into the frozen ChatDesk bundle: the spec's inputs, as plain testable functions.

``packaging/chatdesk.spec`` imports this module (PyInstaller puts the spec's folder on
``sys.path``); tests load it by file path. ``packaging/`` deliberately has no ``__init__.py``:
a package of that name would shadow the ``packaging`` library that pip and PyInstaller use.

Nothing here imports llama_cpp or Qt: the llama.cpp libraries are found on disk, so the spec
works (and can be tested) without loading them.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APP_NAME = "ChatDesk"
EXE_NAME = "chatdesk"
BUNDLE_ID = "app.chatdesk.ChatDesk"
# Where llama_cpp looks for its libraries, relative to the bundle's contents folder.
LLAMA_LIB_DEST = "llama_cpp/lib"
SHARED_LIBRARY = re.compile(r".*\.(so(\.\d+)*|dylib|dll)$")
# Wheels store symlinks as copies: libllama.so, libllama.so.0 (the soname) and
# libllama.so.0.5.0 are three identical files. Only the first two are ever opened.
FULL_VERSION_COPY = re.compile(r".*(\.so\.\d+\.\d+(\.\d+)*|\.\d+\.\d+(\.\d+)*\.dylib)$")
# ggml's own libraries; every other (lib)ggml-NAME library is a backend (cpu, cuda, metal...).
GGML_CORE = re.compile(r"^(lib)?ggml(-base)?\.(so|dylib|dll)")
GGML_BACKEND = re.compile(r"^(lib)?ggml-(?!base\.)([a-z0-9_.-]+)\.(so|dylib|dll)$")

# Qt modules ChatDesk never uses; several are hundreds of megabytes with their data files.
EXCLUDED_QT_MODULES = (
    "Qt3DAnimation",
    "Qt3DCore",
    "Qt3DExtras",
    "Qt3DInput",
    "Qt3DLogic",
    "Qt3DRender",
    "QtBluetooth",
    "QtCharts",
    "QtDataVisualization",
    "QtDesigner",
    "QtGraphs",
    "QtGraphsWidgets",
    "QtHelp",
    "QtHttpServer",
    "QtLocation",
    "QtMultimedia",
    "QtMultimediaWidgets",
    "QtNfc",
    "QtPdf",
    "QtPdfWidgets",
    "QtPositioning",
    "QtQml",
    "QtQuick",
    "QtQuick3D",
    "QtQuickControls2",
    "QtQuickWidgets",
    "QtRemoteObjects",
    "QtScxml",
    "QtSensors",
    "QtSerialBus",
    "QtSerialPort",
    "QtSpatialAudio",
    "QtSql",
    "QtStateMachine",
    "QtTextToSpeech",
    "QtUiTools",
    "QtWebChannel",
    "QtWebEngineCore",
    "QtWebEngineQuick",
    "QtWebEngineWidgets",
    "QtWebSockets",
    "QtWebView",
)
# Qt libraries without a Python module that only the excluded modules' plugins need.
EXCLUDED_QT_LIBS = ("QtVirtualKeyboard",)
# Plugins that load an excluded module: PDF images, the QML virtual keyboard.
EXCLUDED_QT_PLUGINS = ("qpdf", "qtvirtualkeyboardplugin")
# Other heavy packages that only development tools pull in.
EXCLUDED_PACKAGES = (
    "tkinter",
    "pytest",
    "pytestqt",
    "mypy",
    "IPython",
    "matplotlib",
    # gguf imports these only to convert Hugging Face checkpoints, which ChatDesk never does.
    "transformers",
    "tokenizers",
    "safetensors",
    "sentencepiece",
    "torch",
)  # pydantic stays: the API server (FastAPI) and the MCP SDK are built on it


@dataclass(frozen=True)
class LlamaLibraries:
    """The llama.cpp shared libraries of the installed llama_cpp package."""

    lib_dir: Path
    libraries: tuple[Path, ...]  # loaded by llama_cpp itself (libllama, libggml, ...)
    backend_modules: tuple[Path, ...]  # ggml backends loaded at run time (GGML_BACKEND_DL)

    @property
    def cpu_variants(self) -> tuple[str, ...]:
        """Names of the CPU variants built with GGML_CPU_ALL_VARIANTS (empty if none)."""
        names = (GGML_BACKEND.match(path.name) for path in self.backend_modules)
        return tuple(
            match.group(2).removeprefix("cpu-")
            for match in names
            if match and match.group(2).startswith("cpu-")
        )


def llama_lib_dir() -> Path:
    """``llama_cpp/lib`` of the installed package, found without importing (loading) it."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llama-cpp-python is not installed: pip install llama-cpp-python")
    lib_dir = Path(next(iter(spec.submodule_search_locations))) / "lib"
    if not lib_dir.is_dir():
        raise SystemExit(f"llama_cpp has no lib folder ({lib_dir}): reinstall llama-cpp-python")
    return lib_dir


def is_backend_dl(lib_dir: Path, names: list[str]) -> bool:
    """True if ggml was built with GGML_BACKEND_DL (backends are loaded, not linked)."""
    if any(name.startswith(("libggml-cpu-", "ggml-cpu-")) for name in names):
        return True  # CPU variants exist only in GGML_CPU_ALL_VARIANTS (+ BACKEND_DL) builds
    from PyInstaller.depend.bindepend import get_imports

    core = [lib_dir / name for name in names if re.match(r"^(lib)?ggml\.(so|dylib|dll)", name)]
    linked = {Path(name).name for path in core for name, _ in get_imports(str(path))}
    return bool(core) and not any(re.match(r"^(lib)?ggml-(?!base\.)", name) for name in linked)


def find_llama_libraries(lib_dir: Path | None = None) -> LlamaLibraries:
    """Split llama_cpp/lib into libraries llama_cpp loads and run-time ggml backend modules."""
    lib_dir = lib_dir or llama_lib_dir()
    names = sorted(
        path.name
        for path in lib_dir.iterdir()
        if path.is_file()
        and SHARED_LIBRARY.match(path.name)
        and not FULL_VERSION_COPY.match(path.name)
    )
    if not any(re.match(r"^(lib)?llama\.", name) for name in names):
        raise SystemExit(f"no llama library in {lib_dir}: reinstall llama-cpp-python")
    dl = is_backend_dl(lib_dir, names)
    modules = [n for n in names if dl and GGML_BACKEND.match(n) and not GGML_CORE.match(n)]
    return LlamaLibraries(
        lib_dir=lib_dir,
        libraries=tuple(lib_dir / n for n in names if n not in modules),
        backend_modules=tuple(lib_dir / n for n in modules),
    )


def llama_binaries(libs: LlamaLibraries) -> list[tuple[str, str]]:
    """PyInstaller ``binaries`` entries: every llama.cpp library into llama_cpp/lib."""
    return [(str(path), LLAMA_LIB_DEST) for path in (*libs.libraries, *libs.backend_modules)]


def data_files() -> list[tuple[str, str]]:
    """PyInstaller ``datas``: resources/ and the model catalogue, at their repository paths."""
    datas = [(str(REPO / "resources"), "resources")]
    catalogue = REPO / "models" / "catalogue.json"
    if catalogue.exists():
        datas.append((str(catalogue), "models"))
    return datas


def hidden_imports() -> list[str]:
    """Modules imported by name at run time, which PyInstaller cannot see."""
    from PyInstaller.utils.hooks import collect_submodules

    modules = collect_submodules("chatdesk")  # the engine host is started by module name
    modules += ["llama_cpp", "PySide6.QtWidgets", "PySide6.QtSvg"]  # imported lazily
    for package in ("pygments.lexers", "pygments.styles", "pygments.formatters"):
        modules += collect_submodules(package)  # looked up by name (language, style)
    modules += collect_submodules("markdown_it")  # the chat view's parser loads its rules
    return modules


def excluded_modules() -> list[str]:
    """Modules left out of the bundle."""
    return [f"PySide6.{name}" for name in EXCLUDED_QT_MODULES] + list(EXCLUDED_PACKAGES)


def is_excluded_qt_file(dest_name: str) -> bool:
    """True for Qt libraries and plugins that only serve excluded modules (by file name)."""
    name = Path(dest_name).name
    if re.sub(r"\.(so|dll|dylib)$", "", name).removeprefix("lib") in EXCLUDED_QT_PLUGINS:
        return True
    match = re.match(r"^(lib)?Qt6?([A-Za-z0-9]+?)(\.so.*|\.dll|\.dylib|\.abi3\.so|\.pyd)$", name)
    stems = [module.removeprefix("Qt") for module in (*EXCLUDED_QT_MODULES, *EXCLUDED_QT_LIBS)]
    return bool(match) and match.group(2).startswith(tuple(stems))


def icon_for_platform() -> str | None:
    """The icon embedded in the executable (Windows .ico, macOS .icns; Linux has none)."""
    icons = REPO / "resources" / "icons"
    if sys.platform == "win32":
        return str(icons / "chatdesk.ico")
    if sys.platform == "darwin":
        return str(icons / "chatdesk.icns")
    return None  # Linux desktops take the icon from the .desktop file


def link_backend_modules(bundle_dir: Path, contents_dir: Path, libs: LlamaLibraries) -> list[Path]:
    """Make the ggml backend modules visible next to the executable; returns what was made.

    With GGML_BACKEND_DL, llama_backend_init() scans the executable's folder (and the current
    folder) for ``libggml-*.so`` / ``ggml-*.dll``; in a frozen app that is ``dist/chatdesk/``.
    The modules stay in ``llama_cpp/lib`` (where ``ggml_backend_load_all_from_path`` finds
    them in an ordinary install) and get a relative symlink next to the executable, or a
    copy on Windows.
    """
    made = []
    for module in libs.backend_modules:
        collected = contents_dir / LLAMA_LIB_DEST / module.name
        visible = bundle_dir / module.name
        if not collected.exists() or visible.exists():
            continue
        if sys.platform == "win32":
            shutil.copy2(collected, visible)
        else:
            visible.symlink_to(collected.relative_to(bundle_dir))
        made.append(visible)
    return made
