#!/usr/bin/env bash
# Build the llama-cpp-python wheel that ChatDesk ships: portable CPU code plus the GPU backend
# of the target. The PyPI sdist compiles with GGML_NATIVE=ON (every instruction of the build
# machine, e.g. AVX-512), and such a bundle dies with "Illegal instruction" on older laptops.
#
#   packaging/build_llama.sh TARGET [--install] [--print]
#
# TARGET   cpu     x86-64 Linux/Windows, CPU only
#          cuda    x86-64 Linux/Windows, NVIDIA GPUs (needs the CUDA toolkit, nvcc on PATH)
#          vulkan  x86-64 Linux/Windows, any Vulkan GPU (needs the Vulkan SDK: glslc, headers)
#          metal   macOS on Apple silicon (Xcode command line tools)
# --print    only print the CMAKE_ARGS for TARGET
# --install  install the built wheel into $PYTHON's environment (replacing the one there)
#
# On x86-64 the CPU code is built once per instruction-set level (GGML_CPU_ALL_VARIANTS:
# x64, sse42, sandybridge, haswell, skylakex, icelake, zen4, alderlake, sapphirerapids...);
# ggml loads the best one for the user's CPU at run time (GGML_BACKEND_DL), and the GPU
# backend is such a module too, so the same bundle still starts on a machine without a GPU.
# GGML_BACKEND_DIR:STRING=llama_cpp/lib installs those modules into the package (without it
# they go to site-packages/bin). The :STRING matters: ggml declares it a PATH, and CMake turns
# a relative PATH given without a type into an absolute one inside the temporary build folder,
# so the modules would silently miss the wheel. On Apple silicon every Mac has the same baseline, so the macOS build
# links one CPU backend and Metal directly (PyInstaller's .app layout and run-time backend
# loading don't mix; chatdesk.spec refuses that combination).
#
# Environment: PYTHON (default python3), LLAMA_CPP_SOURCE (an sdist file or source folder;
# default: llama-cpp-python==<installed version> from the package index),
# CMAKE_BUILD_PARALLEL_LEVEL (compile jobs). Output: dist/wheels/llama_cpp_python-*.whl.
# Takes 15-40 minutes (all CPU variants; CUDA adds more), so it is never run by build.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
target=${1:?usage: build_llama.sh cpu|cuda|vulkan|metal [--install] [--print]}
shift
install=0
print_only=0
for arg in "$@"; do
    case "$arg" in
        --install) install=1 ;;
        --print) print_only=1 ;;
        *) echo "build_llama.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

portable_x86="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DGGML_BACKEND_DIR:STRING=llama_cpp/lib"
case "$target" in
    cpu) cmake_args="$portable_x86" ;;
    cuda) cmake_args="$portable_x86 -DGGML_CUDA=ON" ;; # GGML_NATIVE=OFF: portable CUDA arch list
    vulkan) cmake_args="$portable_x86 -DGGML_VULKAN=ON" ;;
    metal) cmake_args="-DGGML_NATIVE=OFF -DGGML_METAL=ON -DGGML_METAL_EMBED_LIBRARY=ON -DCMAKE_OSX_ARCHITECTURES=arm64 -DCMAKE_OSX_DEPLOYMENT_TARGET=11.0" ;;
    *) echo "build_llama.sh: unknown target $target (cpu, cuda, vulkan, metal)" >&2; exit 2 ;;
esac
if ((print_only)); then
    echo "CMAKE_ARGS=\"$cmake_args\""
    exit 0
fi

version=$("$PYTHON" -c "import importlib.metadata as m; print(m.version('llama-cpp-python'))" 2>/dev/null || echo 0.3.36)
source=${LLAMA_CPP_SOURCE:-llama-cpp-python==$version}
echo "== building $source for $target"
echo "CMAKE_ARGS=\"$cmake_args\""
rm -rf build/llama-wheel
start=$(date +%s)
# Keep the CMake build folder (absolute: relative paths resolve inside pip's temporary copy;
# on Windows' Git Bash as D:/..., which the Windows Python understands).
here=$(pwd -W 2>/dev/null || pwd)
CMAKE_ARGS="$cmake_args" "$PYTHON" -m pip wheel --no-deps --no-cache-dir \
    --no-binary llama-cpp-python --config-settings=build-dir="$here/build/llama-cmake/$target" \
    -w build/llama-wheel "$source"
echo "built in $(($(date +%s) - start)) s"
wheel=$(ls build/llama-wheel/llama_cpp_python-*.whl)
mkdir -p dist/wheels
cp "$wheel" dist/wheels/

echo "== checking the wheel"
unpacked=build/llama-wheel/unpacked
"$PYTHON" -m zipfile -e "$wheel" "$unpacked"
"$PYTHON" packaging/check_llama.py --strict --lib-dir "$unpacked/llama_cpp/lib"

if ((install)); then
    "$PYTHON" -m pip install --force-reinstall --no-deps "$wheel"
fi
echo "wheel: dist/wheels/$(basename "$wheel")"
