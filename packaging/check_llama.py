"""Check that the installed llama.cpp can be shipped to other computers.

A llama-cpp-python built from the PyPI sdist compiles ggml with GGML_NATIVE=ON: the CPU code
uses every instruction of the build machine (AVX-512 here) and dies with "Illegal
instruction" on older laptops. A distributable build either has the CPU variants of
GGML_CPU_ALL_VARIANTS (one backend per instruction set, the best is picked at run time) or
was compiled with GGML_NATIVE=OFF for a baseline CPU. See packaging/build_llama.sh.

Usage: python packaging/check_llama.py [--strict]
Prints what it found; exits 1 for a build that will not run elsewhere (with --strict, also
for one that needs AVX2, i.e. a 2013 or newer x86 CPU).
"""

from __future__ import annotations

import argparse
import ctypes
import platform
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bundle_config

GPU_BACKENDS = ("cuda", "metal", "vulkan", "hip", "sycl", "opencl", "musa")
# Compile-time CPU features ggml reports through ggml_cpu_has_<name>(), newest first.
NATIVE_ONLY_FEATURES = (
    "amx_int8",
    "avx512_bf16",
    "avx512_vnni",
    "avx512_vbmi",
    "avx512",
    "avx_vnni",
)
BASELINE_FEATURES = ("avx2", "fma", "f16c", "avx", "sse3")


def cmake_setting(lib_dir: Path, name: str) -> str | None:
    """A GGML_* value recorded in an installed ggml-config.cmake, if one was installed."""
    roots = (lib_dir, lib_dir.parent, lib_dir.parent.parent / "lib")
    for root in roots:
        for config in root.glob("**/ggml-config.cmake"):
            match = re.search(rf'set\({name} "?([^")]*)"?\)', config.read_text(errors="replace"))
            if match:
                return match.group(1)
    return None


def compiled_cpu_features(libs: bundle_config.LlamaLibraries) -> dict[str, bool]:
    """The instruction sets the (single) CPU backend was compiled for, via ggml_cpu_has_*."""
    candidates = [p for p in libs.libraries if re.match(r"^(lib)?ggml-cpu\.", p.name)]
    candidates += [p for p in libs.libraries if re.match(r"^(lib)?ggml\.", p.name)]
    for path in candidates:
        try:
            library = ctypes.CDLL(str(path))
        except OSError as error:  # built for another OS or CPU: nothing to ask
            print(f"check_llama: cannot load {path.name}: {error}", file=sys.stderr)
            continue
        if hasattr(library, "ggml_cpu_has_avx2"):
            return {
                name: bool(getattr(library, f"ggml_cpu_has_{name}")())
                for name in (*NATIVE_ONLY_FEATURES, *BASELINE_FEATURES)
                if hasattr(library, f"ggml_cpu_has_{name}")
            }
    return {}


def gpu_backends(libs: bundle_config.LlamaLibraries) -> list[str]:
    """GPU backends present as libraries (linked or loadable)."""
    names = [path.name for path in (*libs.libraries, *libs.backend_modules)]
    return [gpu for gpu in GPU_BACKENDS if any(f"ggml-{gpu}" in name for name in names)]


def verdict(libs: bundle_config.LlamaLibraries, strict: bool) -> tuple[bool, list[str]]:
    """Whether the build is portable, and the lines explaining why."""
    lines = [f"llama.cpp libraries: {libs.lib_dir}"]
    lines.append(f"GPU backends: {', '.join(gpu_backends(libs)) or 'none (CPU only)'}")
    if libs.cpu_variants:
        lines.append(f"CPU variants (picked at run time): {', '.join(libs.cpu_variants)}")
        return True, [*lines, "portable: yes (GGML_CPU_ALL_VARIANTS)"]
    native = cmake_setting(libs.lib_dir, "GGML_NATIVE")
    if native is not None:
        lines.append(f"GGML_NATIVE={native} (from ggml-config.cmake)")
    if platform.machine().lower() not in ("x86_64", "amd64"):
        ok = native is None or native.upper() in ("OFF", "0", "FALSE")
        return ok, [*lines, f"portable: {'yes' if ok else 'NO: rebuild with GGML_NATIVE=OFF'}"]
    features = compiled_cpu_features(libs)
    used = [name for name, on in features.items() if on]
    lines.append(f"compiled for: {', '.join(used) or 'baseline x86-64'}")
    if (native and native.upper() in ("ON", "1", "TRUE")) or set(used) & set(NATIVE_ONLY_FEATURES):
        return False, [*lines, "portable: NO, built for this CPU (GGML_NATIVE=ON)"]
    if "avx2" in used:
        return not strict, [*lines, "portable: only to CPUs with AVX2 (2013 or newer)"]
    return True, [*lines, "portable: yes (baseline instruction set)"]


def main(argv: list[str] | None = None) -> int:
    """Print the verdict; exit 1 when the build should not be shipped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="also refuse AVX2-only builds")
    parser.add_argument("--lib-dir", type=Path, help="llama_cpp/lib to check (default: installed)")
    args = parser.parse_args(argv)
    libs = bundle_config.find_llama_libraries(args.lib_dir)
    ok, lines = verdict(libs, args.strict)
    print("\n".join(lines))
    if not ok:
        print("see packaging/build_llama.sh for a portable build", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
