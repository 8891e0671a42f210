"""Build llama.cpp's ``llama-bench`` once per machine, for ``chatdesk bench``'s C++ reference.

    python scripts/build_llama_bench.py [--jobs N] [--force]

Steps (each skipped when its result is already in the cache, see chatdesk/cli/llama_bench.py):

1. ``pip download --no-deps --no-binary :all: llama-cpp-python==<installed version>``: the
   sdist, whose ``vendor/llama.cpp`` is exactly the llama.cpp the installed wheel was built from.
2. cmake: the system one if it is new enough (>= 3.21, what llama-cpp-python requires), else
   the ``cmake`` (and ``ninja``) wheels from PyPI in a small venv under the cache.
3. Configure ``vendor/llama.cpp`` as the wheel was built where it matters for speed: Release,
   native CPU (``GGML_NATIVE``), OpenMP, plus a GPU backend when the installed wheel ships one
   and whatever ``$CMAKE_ARGS`` says (as for ``pip install llama-cpp-python``); tests,
   examples, server and curl off; static libraries, so the binary stands alone.
4. Build only the ``llama-bench`` target.
5. Link llama-bench's objects once more against the installed wheel's own shared libraries
   (``llama-bench-wheel``): the same machine code ChatDesk runs. Skipped, with a note, if
   this llama.cpp lays its objects out differently.

A lock file makes a second build wait for the first. Prints the binary's path at the end.
Takes some minutes on 2 cores: start it in the background (``... &``).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatdesk.cli.llama_bench import binary_in, build_root, cache_root, installed_version

MIN_CMAKE = (3, 21)
GPU_LIBRARIES = {"ggml-cuda": "GGML_CUDA", "ggml-vulkan": "GGML_VULKAN", "ggml-metal": "GGML_METAL",
                 "ggml-hip": "GGML_HIP", "ggml-blas": "GGML_BLAS"}  # fmt: skip


def run(command: list[str], log: Path | None = None, cwd: Path | None = None) -> None:
    """Run a command (output to ``log`` if given); exit with its last lines on failure."""
    print("+", shlex.join(command), flush=True)
    if log is None:
        subprocess.run(command, check=True, cwd=cwd)
        return
    with log.open("w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        sys.exit("build failed (" + str(log) + "):\n" + "\n".join(tail))


def fetch_source(root: Path, version: str) -> Path:
    """The extracted sdist's llama.cpp folder (downloaded and unpacked once)."""
    source = root / "source"
    llama = source / "vendor" / "llama.cpp"
    if (llama / "CMakeLists.txt").is_file():
        return llama
    archives = list(root.glob("llama_cpp_python-*.tar.gz"))
    if not archives:
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"llama-cpp-python=={version}", "-d", str(root)])  # fmt: skip
        archives = list(root.glob("llama_cpp_python-*.tar.gz"))
    unpack = root / "unpack"
    shutil.rmtree(unpack, ignore_errors=True)
    with tarfile.open(archives[0]) as archive:
        archive.extractall(unpack, filter="data")
    shutil.rmtree(source, ignore_errors=True)
    next(unpack.iterdir()).rename(source)
    unpack.rmdir()
    return llama


def cmake_version(cmake: str) -> tuple[int, ...]:
    """The version of a cmake executable, (0,) if it does not run."""
    try:
        done = subprocess.run([cmake, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return (0,)
    found = re.search(r"(\d+)\.(\d+)", done.stdout)
    return tuple(int(part) for part in found.groups()) if found else (0,)


def build_tools() -> tuple[str, str | None]:
    """(cmake, ninja or None): the system's if good enough, else from PyPI in a cached venv."""
    cmake, ninja = shutil.which("cmake"), shutil.which("ninja")
    if cmake and cmake_version(cmake) >= MIN_CMAKE:
        return cmake, ninja
    tools = cache_root() / "build-tools"
    scripts = tools / ("Scripts" if os.name == "nt" else "bin")
    if not (scripts / "cmake").exists():
        venv.create(tools, with_pip=True)
        run([str(scripts / "python"), "-m", "pip", "install", "cmake>=3.21", "ninja"])
    return str(scripts / "cmake"), str(scripts / "ninja")


def wheel_options() -> list[str]:
    """The installed wheel's GPU backend as cmake options, plus ``$CMAKE_ARGS``."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    options: list[str] = []
    if spec and spec.origin:
        names = {path.name for path in (Path(spec.origin).parent / "lib").glob("*")}
        for library, option in GPU_LIBRARIES.items():
            if any(name.startswith(f"lib{library}.") or name.startswith(library) for name in names):
                options.append(f"-D{option}=ON")
    return options + shlex.split(os.environ.get("CMAKE_ARGS", ""))


def configure_and_build(llama: Path, root: Path, jobs: int) -> Path:
    """Configure (once) and build the llama-bench target; the binary."""
    cmake, ninja = build_tools()
    build = root / "build"
    generator = ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"] if ninja else []
    options = [
        "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DGGML_OPENMP=ON",
        "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
        "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_BUILD_TOOLS=ON",
        "-DLLAMA_BUILD_COMMON=ON", "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF",
    ]  # fmt: skip
    if not (build / "CMakeCache.txt").is_file():
        run([cmake, "-S", str(llama), "-B", str(build), *generator, *options, *wheel_options()],
            root / "configure.log")  # fmt: skip
    run([cmake, "--build", str(build), "--target", "llama-bench", "-j", str(jobs)],
        root / "build.log")  # fmt: skip
    return binary_in(root)


def wheel_lib_dir() -> Path | None:
    """The installed llama_cpp package's folder of shared libraries."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    folder = Path(spec.origin).resolve().parent / "lib" if spec and spec.origin else None
    return folder if folder and folder.is_dir() else None


def link_against_wheel(root: Path) -> Path | None:
    """llama-bench's objects linked to the wheel's libllama/libggml; None if not possible."""
    build, lib = root / "build", wheel_lib_dir()
    parts = [build / name for name in (
        "tools/llama-bench/CMakeFiles/llama-bench.dir/main.cpp.o",
        "tools/llama-bench/libllama-bench-impl.a", "common/libllama-common.a",
        "common/libllama-common-base.a", "vendor/cpp-httplib/libcpp-httplib.a")]  # fmt: skip
    compiler = re.search(r"CMAKE_CXX_COMPILER:\w+=(.+)", (build / "CMakeCache.txt").read_text())
    if lib is None or compiler is None or not all(part.exists() for part in parts[:4]):
        print("note: cannot link llama-bench against the wheel's libraries here", flush=True)
        return None
    libraries = [f"-l:lib{name}.so.0" for name in ("llama", "ggml", "ggml-base", "ggml-cpu")]
    libraries += [
        f"-l:{p.name}" for p in lib.glob("libggml-*.so.0") if f"-l:{p.name}" not in libraries
    ]
    out = binary_in(root, linked_to_wheel=True)
    command = [compiler.group(1).strip(), "-o", str(out), *(str(p) for p in parts if p.exists()),
               f"-L{lib}", *libraries, "-fopenmp", "-lpthread", f"-Wl,-rpath,{lib}"]  # fmt: skip
    print("+", shlex.join(command), flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"note: linking against the wheel failed: {done.stderr.strip()[-300:]}")
        return None
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--force", action="store_true", help="configure and build again")
    args = parser.parse_args()
    version = installed_version()
    root = build_root(version)
    root.mkdir(parents=True, exist_ok=True)
    with (root / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second build waits for the first
        if args.force:
            shutil.rmtree(root / "build", ignore_errors=True)
        binary = binary_in(root)
        if not binary.is_file():
            binary = configure_and_build(fetch_source(root, version), root, args.jobs)
        linked = binary_in(root, linked_to_wheel=True)
        if not linked.is_file():
            linked = link_against_wheel(root) or binary
    print(binary)
    print(linked)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
