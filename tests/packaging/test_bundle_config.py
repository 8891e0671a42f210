"""The bundle's contents: llama.cpp libraries, backend modules, Qt exclusions, the spec."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"


def test_spec_parses_and_builds_the_chatdesk_executable_from_the_launcher() -> None:
    tree = ast.parse((PACKAGING / "chatdesk.spec").read_text(encoding="utf-8"))
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= calls
    source = (PACKAGING / "chatdesk.spec").read_text(encoding="utf-8")
    assert '"launcher.py"' in source
    assert "config.llama_binaries(llama)" in source


def test_backend_dl_wheel_splits_into_libraries_and_run_time_modules(
    bundle_config: ModuleType, fake_lib_dir: Path
) -> None:
    libs = bundle_config.find_llama_libraries(fake_lib_dir)
    assert [p.name for p in libs.libraries] == [
        "libggml-base.so",
        "libggml-base.so.0",
        "libggml.so",
        "libggml.so.0",
        "libllama.so",
        "libllama.so.0",
    ]
    assert sorted(p.name for p in libs.backend_modules) == [
        "libggml-cpu-haswell.so",
        "libggml-cpu-skylakex.so",
        "libggml-cpu-x64.so",
        "libggml-cuda.so",
    ]
    assert sorted(libs.cpu_variants) == ["haswell", "skylakex", "x64"]


def test_every_library_goes_to_llama_cpp_lib_where_llama_cpp_loads_it(
    bundle_config: ModuleType, fake_lib_dir: Path
) -> None:
    entries = bundle_config.llama_binaries(bundle_config.find_llama_libraries(fake_lib_dir))
    assert {dest for _, dest in entries} == {"llama_cpp/lib"}
    names = {Path(source).name for source, _ in entries}
    assert "libllama.so" in names
    assert "libllama.so.0.5.0" not in names  # a third identical copy nobody opens
    assert "README.txt" not in names


def test_a_folder_without_libllama_is_refused(bundle_config: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "libggml.so").write_bytes(b"x")
    with pytest.raises(SystemExit, match="no llama library"):
        bundle_config.find_llama_libraries(tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama_cpp missing")
def test_installed_llama_cpp_lib_dir_is_collected(bundle_config: ModuleType) -> None:
    libs = bundle_config.find_llama_libraries()
    names = [path.name for path in (*libs.libraries, *libs.backend_modules)]
    assert any(name.startswith(("libllama.", "llama.")) for name in names)
    assert any(name.startswith(("libggml-base.", "ggml-base.")) for name in names)
    assert all(path.parent == libs.lib_dir for path in libs.libraries)


def test_backend_modules_are_linked_next_to_the_executable(
    bundle_config: ModuleType, fake_lib_dir: Path, tmp_path: Path
) -> None:
    libs = bundle_config.find_llama_libraries(fake_lib_dir)
    bundle = tmp_path / "dist" / "chatdesk"
    collected = bundle / "_internal" / "llama_cpp" / "lib"
    collected.mkdir(parents=True)
    for module in libs.backend_modules:
        (collected / module.name).write_bytes(module.read_bytes())
    made = bundle_config.link_backend_modules(bundle, bundle / "_internal", libs)
    assert len(made) == 4
    haswell = bundle / "libggml-cpu-haswell.so"
    assert haswell.read_bytes() == b"libggml-cpu-haswell.so"
    assert not Path(haswell.readlink()).is_absolute()  # the bundle can be moved


@pytest.mark.parametrize(
    ("name", "excluded"),
    [
        ("PySide6/Qt/lib/libQt6Widgets.so.6", False),
        ("PySide6/Qt/lib/libQt6Gui.so.6", False),
        ("PySide6/Qt/lib/libQt6Svg.so.6", False),
        ("PySide6/Qt/lib/libQt6XcbQpa.so.6", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", False),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
        ("PySide6/Qt/lib/libQt6WebEngineCore.so.6", True),
        ("PySide6/Qt/lib/libQt6QmlModels.so.6", True),
        ("PySide6/Qt/lib/libQt6Quick.so.6", True),
        ("PySide6/Qt/lib/libQt6Pdf.so.6", True),
        ("PySide6/Qt/lib/libQt6Multimedia.so.6", True),
        ("PySide6/Qt/lib/libQt63DCore.so.6", True),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", True),
        ("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", True),
        ("PySide6/Qt6WebEngineCore.dll", True),
        ("PySide6/QtWidgets.pyd", False),
    ],
)
def test_qt_exclusions_drop_unused_modules_and_keep_the_widgets_stack(
    bundle_config: ModuleType, name: str, excluded: bool
) -> None:
    assert bundle_config.is_excluded_qt_file(name) is excluded


def test_resources_are_bundled_at_their_repository_path(bundle_config: ModuleType) -> None:
    assert (str(REPO / "resources"), "resources") in bundle_config.data_files()


def test_fake_wheel_with_cpu_variants_is_portable(
    check_llama: ModuleType, bundle_config: ModuleType, fake_lib_dir: Path
) -> None:
    ok, lines = check_llama.verdict(bundle_config.find_llama_libraries(fake_lib_dir), True)
    assert ok
    assert "GPU backends: cuda" in lines
    assert lines[-1] == "portable: yes (GGML_CPU_ALL_VARIANTS)"


def test_native_build_recorded_in_cmake_config_is_not_portable(
    check_llama: ModuleType, bundle_config: ModuleType, tmp_path: Path
) -> None:
    lib_dir = tmp_path / "llama_cpp" / "lib"
    lib_dir.mkdir(parents=True)
    for name in ("libllama.so", "libggml.so", "libggml-base.so", "libggml-cpu.so"):
        (lib_dir / name).write_bytes(b"not really a library")
    config = tmp_path / "lib" / "cmake" / "ggml" / "ggml-config.cmake"
    config.parent.mkdir(parents=True)
    config.write_text('set(GGML_AVX512 "OFF")\nset(GGML_NATIVE "ON")\n')
    libs = bundle_config.LlamaLibraries(
        lib_dir, tuple(sorted(lib_dir.iterdir())), backend_modules=()
    )
    ok, lines = check_llama.verdict(libs, False)
    assert not ok
    assert "GGML_NATIVE=ON (from ggml-config.cmake)" in lines
