#!/usr/bin/env bash
# Build the ChatDesk app for this OS (Linux or macOS) into dist/.
#
#   packaging/build.sh [--release] [--bundle-only]
#
# Always: dist/chatdesk/ (one-folder bundle; dist/chatdesk/chatdesk takes the same command
# line as `chatdesk`). Then, unless --bundle-only:
#   Linux: dist/ChatDesk-<version>-linux-<arch>.tar.gz, and dist/ChatDesk-<version>-<arch>.AppImage
#          when appimagetool is on PATH;
#   macOS: dist/ChatDesk.app (signed when CHATDESK_CODESIGN_IDENTITY is set) and
#          dist/ChatDesk-<version>-macos-<arch>.dmg.
# Python: $PYTHON when set, else the checkout's own .venv (the one ./run and ./test make;
# scripts/bootstrap.sh makes it when it is missing), never whatever python3 is on PATH.
# --release (or CHATDESK_RELEASE=1) refuses a llama.cpp built with native CPU flags (see
# packaging/build_llama.sh) with an error; a development build only warns.
set -euo pipefail

cd "$(dirname "$0")/.."
bundle_only=0
release=${CHATDESK_RELEASE:-0}
for arg in "$@"; do
    case "$arg" in
        --bundle-only) bundle_only=1 ;;
        --release) release=1 ;;
        *) echo "build.sh: unknown option $arg (--release, --bundle-only)" >&2; exit 2 ;;
    esac
done
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then
        PYTHON=$PWD/.venv/bin/python
    else
        source scripts/bootstrap.sh  # makes .venv (Python >= 3.12) with ChatDesk and PyInstaller
        PYTHON=$VENV/bin/python
    fi
fi
echo "== Python: $PYTHON"

missing=()
"$PYTHON" -c "import PyInstaller" 2>/dev/null || missing+=("PyInstaller (pip install -e '.[packaging]')")
"$PYTHON" -c "import PySide6" 2>/dev/null || missing+=("PySide6 (pip install -e .)")
"$PYTHON" -c "import importlib.util as u; assert u.find_spec('llama_cpp')" 2>/dev/null \
    || missing+=("llama-cpp-python (packaging/build_llama.sh)")
if ((${#missing[@]})); then
    printf 'build.sh: missing: %s\n' "${missing[@]}" >&2
    exit 1
fi

version=$(PYTHONPATH=$PWD "$PYTHON" -c "import chatdesk; print(chatdesk.__version__)")
arch=$(uname -m)
echo "== ChatDesk $version for $(uname -s) $arch"

echo "== llama.cpp portability"
if ! "$PYTHON" packaging/check_llama.py; then
    if [[ "$release" == 1 ]]; then
        echo "build.sh: error: refusing a release build with a native-only llama.cpp" \
            "(build a portable one: packaging/build_llama.sh cpu --install)" >&2
        exit 1
    fi
    echo "build.sh: WARNING: this bundle runs only on CPUs like the build machine's" >&2
fi
"$PYTHON" packaging/make_icons.py --check || echo "build.sh: WARNING: icons are stale (run packaging/make_icons.py)" >&2

echo "== PyInstaller"
rm -rf dist/chatdesk dist/ChatDesk.app
start=$(date +%s)
PYTHONPATH=$PWD "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/chatdesk.spec
echo "bundle built in $(($(date +%s) - start)) s: $(du -sh dist/chatdesk | cut -f1) dist/chatdesk"

echo "== check the frozen command line"
dist/chatdesk/chatdesk --version

((bundle_only)) && exit 0
case "$(uname -s)" in
    Linux)
        packaging/linux/make_tarball.sh "$version"
        if command -v appimagetool >/dev/null; then
            packaging/linux/make_appimage.sh "$version"
        else
            echo "appimagetool not found: no AppImage (the tarball is the Linux download)"
        fi
        ;;
    Darwin)
        packaging/macos/sign.sh dist/ChatDesk.app
        packaging/macos/make_dmg.sh "$version"
        ;;
    *)
        echo "build.sh: on Windows use packaging/build.ps1" >&2
        exit 1
        ;;
esac
