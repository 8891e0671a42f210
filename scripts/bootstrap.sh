# Sourced by ./run and ./test: make .venv with Python >= 3.12 and install ChatDesk into it.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

find_python() {
    # PySide6 on Python 3.11 dies at exit (none_dealloc), so 3.12+ only.
    # 3.12 first: it is the version the suite is checked on.
    local candidates=(python3.12)
    local pyenv_root
    pyenv_root="$(pyenv root 2>/dev/null || true)"
    if [[ -n "$pyenv_root" ]]; then
        candidates+=("$pyenv_root"/versions/3.12*/bin/python3)
    fi
    candidates+=(python3.13 python3)
    local py
    for py in "${candidates[@]}"; do
        if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
            command -v "$py" 2>/dev/null || echo "$py"
            return 0
        fi
    done
    echo "ChatDesk needs Python >= 3.12; none found (tried ${candidates[*]})." >&2
    return 1
}

ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        local py
        py="$(find_python)"
        echo "bootstrap: creating $VENV with $py" >&2
        "$py" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
    fi
    local stamp="$VENV/.chatdesk-install-stamp"
    local want
    want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        echo "bootstrap: installing ChatDesk and its dependencies (first run builds llama.cpp: ~12 min)" >&2
        "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev,packaging]"
        echo "$want" > "$stamp"
    fi
}

ensure_venv
