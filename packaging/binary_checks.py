"""Checks of the machine code in a built bundle: which glibc it needs, which CPU it needs.

glibc: a Linux bundle starts only where the system's glibc is at least as new as every
``GLIBC_x.y`` symbol version that one of its ELF files requires (its ``.gnu.version_r``,
printed by ``objdump -p``). ``glibc_baseline`` scans every ELF file in the bundle and names
the highest version and the files that need it; a release must stay at or below 2.35
(Ubuntu 22.04).

CPU: a portable llama.cpp has per-CPU variants of its CPU backend (``libggml-cpu-<level>``),
one of which ggml loads at run time; the baseline variant (``x64``; a single
``libggml-cpu`` when there are no variants) must run on any x86-64 CPU a user may have.
``avx512_instructions`` disassembles a library (``objdump -d``) and counts instructions on
``zmm`` registers or AVX-512 mask registers: any is an instruction beyond x86-64-v3/AVX2, the
sign of a build with ``GGML_NATIVE=ON`` on an AVX-512 machine.

Used by ``packaging/smoke_test.py``; stdlib only (plus binutils' ``objdump``).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

RELEASE_GLIBC = (2, 35)  # Ubuntu 22.04; Debian 12 has 2.36, RHEL 9 2.34
GLIBC_VERSION = re.compile(r"\bGLIBC_(\d+)\.(\d+)(?:\.(\d+))?\b")
AVX512 = re.compile(r"%zmm\d+|%k[1-7]\b|\{%k[1-7]\}")
CPU_LIBRARY = re.compile(r"^(lib)?ggml-cpu(-([a-z0-9_]+))?\.(so|dll|dylib)")


def is_elf(path: Path) -> bool:
    """True for a regular file that starts with the ELF magic."""
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def elf_files(root: Path) -> list[Path]:
    """Every ELF file under ``root`` (symbolic links skipped: their targets are in it)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p))


def required_glibc(path: Path) -> tuple[int, ...]:
    """The highest GLIBC_x.y version ``path`` requires; () when it needs none."""
    result = subprocess.run(
        ["objdump", "-p", str(path)], capture_output=True, text=True, check=False
    )
    needs = result.stdout.partition("Version References:")[2]
    versions = [tuple(int(n) for n in m.groups() if n) for m in GLIBC_VERSION.finditer(needs)]
    return max(versions, default=())


@dataclass(frozen=True)
class GlibcReport:
    """The highest glibc version a bundle needs, and which files need it."""

    highest: tuple[int, ...]
    files: tuple[str, ...]  # relative paths of the files that need ``highest``
    scanned: int

    @property
    def version(self) -> str:
        return ".".join(map(str, self.highest)) or "none"

    def within(self, limit: tuple[int, ...] = RELEASE_GLIBC) -> bool:
        """True when the bundle runs with glibc ``limit``."""
        return self.highest <= limit


def glibc_baseline(root: Path) -> GlibcReport:
    """Scan every ELF file under ``root``."""
    needs = {path: required_glibc(path) for path in elf_files(root)}
    highest = max(needs.values(), default=())
    files = tuple(str(p.relative_to(root)) for p, v in needs.items() if v == highest and v)
    return GlibcReport(highest, files, len(needs))


def avx512_instructions(library: Path) -> int:
    """How many instructions of ``library`` use AVX-512 registers (objdump -d)."""
    with subprocess.Popen(
        ["objdump", "-d", "--no-show-raw-insn", str(library)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdout is not None
        return sum(1 for line in process.stdout if AVX512.search(line))


def cpu_libraries(root: Path) -> dict[str, Path]:
    """The bundle's CPU backends by variant name ("" for a single, variant-less one)."""
    found: dict[str, Path] = {}
    for path in root.rglob("*ggml-cpu*"):
        match = CPU_LIBRARY.match(path.name)
        if match and path.is_file() and not path.is_symlink():
            found.setdefault(match.group(3) or "", path)
    return found


def baseline_cpu_library(root: Path) -> tuple[str, Path] | None:
    """(variant, path) of the CPU backend every x86-64 CPU must be able to run."""
    libraries = cpu_libraries(root)
    for name in ("x64", ""):  # the variant-less build is its own baseline
        if name in libraries:
            return name, libraries[name]
    return None


def loaded_cpu_variant(pid: int) -> str | None:
    """The ggml CPU backend mapped into process ``pid`` (from /proc/PID/maps), by file name."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return None
    names = {Path(line.split()[-1]).name for line in maps.splitlines() if "ggml-cpu" in line}
    return ", ".join(sorted(names)) or None
