"""The smoke test's machine-code checks (glibc baseline, AVX-512 in the CPU backend) on real
ELF files, and build.sh --release refusing a native-only llama.cpp."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.packaging.conftest import load_script

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or shutil.which("objdump") is None or shutil.which("as") is None,
    reason="needs Linux with binutils (objdump, as)",
)


@pytest.fixture(scope="module")
def checks() -> ModuleType:
    return load_script("binary_checks")


def test_the_glibc_baseline_names_the_highest_version_and_its_files(
    checks: ModuleType, tmp_path: Path
) -> None:
    shutil.copy("/bin/true", tmp_path / "true")
    (tmp_path / "notes.txt").write_text("GLIBC_9.99 is only text")
    report = checks.glibc_baseline(tmp_path)
    assert report.scanned == 1
    assert report.files == ("true",)
    assert (2, 2) <= report.highest < (3, 0)
    assert report.within((9, 0))
    assert not report.within((2, 0))


def assemble(tmp_path: Path, name: str, instructions: str) -> Path:
    source = tmp_path / f"{name}.s"
    source.write_text(f".text\n{instructions}\n")
    subprocess.run(["as", "-o", str(tmp_path / f"{name}.o"), str(source)], check=True)
    return tmp_path / f"{name}.o"


def test_avx512_instructions_are_counted_and_avx2_ones_are_not(
    checks: ModuleType, tmp_path: Path
) -> None:
    avx2 = assemble(tmp_path, "avx2", "vaddps %ymm1, %ymm2, %ymm3\nvfmadd231ps %ymm1, %ymm2, %ymm3")
    avx512 = assemble(
        tmp_path, "avx512",
        "vaddps %zmm1, %zmm2, %zmm3\nvaddps %ymm1, %ymm2, %ymm3{%k1}\nkmovw %k2, %eax\nret",
    )  # fmt: skip
    assert checks.avx512_instructions(avx2) == 0
    assert checks.avx512_instructions(avx512) == 3


def test_the_baseline_cpu_backend_is_the_x64_variant_or_the_only_one(
    checks: ModuleType, tmp_path: Path
) -> None:
    for name in ("libggml-cpu-haswell.so", "libggml-cpu-x64.so", "libggml-base.so"):
        (tmp_path / name).write_bytes(b"\x7fELF")
    assert checks.baseline_cpu_library(tmp_path) == ("x64", tmp_path / "libggml-cpu-x64.so")
    single = tmp_path / "single"
    single.mkdir()
    (single / "libggml-cpu.so").write_bytes(b"\x7fELF")
    assert checks.baseline_cpu_library(single) == ("", single / "libggml-cpu.so")


def test_a_release_build_refuses_a_native_only_llama_cpp() -> None:
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(REPO)}
    native = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "check_llama.py")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if native.returncode == 0:
        pytest.skip("the installed llama.cpp is portable: --release would build for minutes")
    result = subprocess.run(
        [str(REPO / "packaging" / "build.sh"), "--release", "--bundle-only"],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    assert "error: refusing a release build with a native-only llama.cpp" in result.stderr
    assert "== PyInstaller" not in result.stdout
