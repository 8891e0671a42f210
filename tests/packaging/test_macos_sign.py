"""macOS signing finds every Mach-O file by its content, extensionless Qt binaries included.

``codesign`` exists only on macOS; here a stand-in on PATH records what sign.sh asks it to
sign (and answers the hardened-runtime check), so the file discovery and the order run for
real on Linux. The real signing and notarisation run in the macOS job of release.yml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MACHO = b"\xcf\xfa\xed\xfe\x0c\x00\x00\x01\x00\x00\x00\x00\x02\x00\x00\x00" + bytes(64)
FAKE_CODESIGN = """#!/bin/sh
echo "$@" >> "$CODESIGN_LOG"
case "$1" in -dvv) echo "flags=0x10000(runtime)" >&2 ;; esac
exit 0
"""

pytestmark = pytest.mark.skipif(shutil.which("file") is None, reason="needs file(1)")


def test_every_mach_o_file_is_signed_then_the_app(tmp_path: Path) -> None:
    app = tmp_path / "ChatDesk.app"
    qtcore = app / "Contents/Frameworks/PySide6/Qt/lib/QtCore.framework/Versions/A/QtCore"
    library = app / "Contents/Frameworks/libpython3.12.dylib"
    executable = app / "Contents/MacOS/chatdesk"
    text = app / "Contents/Resources/notes.txt"
    for path, data in ((qtcore, MACHO), (library, MACHO), (executable, MACHO), (text, b"hi")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "codesign").write_text(FAKE_CODESIGN)
    (tools / "codesign").chmod(0o755)
    log = tmp_path / "codesign.log"
    env = {
        **os.environ,
        "PATH": f"{tools}:{os.environ['PATH']}",
        "CODESIGN_LOG": str(log),
        "CHATDESK_CODESIGN_IDENTITY": "Developer ID Application: Test (TEAM)",
    }
    result = subprocess.run(
        ["bash", str(REPO / "packaging/macos/sign.sh"), str(app)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    signed = [line.split()[-1] for line in log.read_text().splitlines() if "--sign" in line]
    assert set(signed[:3]) == {str(qtcore), str(library), str(executable)}
    assert str(text) not in signed
    assert signed[-2:] == [str(qtcore.parents[2]), str(app)]  # the framework, then the app
    assert all("--options runtime" in line for line in log.read_text().splitlines()
               if "--sign" in line)  # fmt: skip
    assert "signed 3 Mach-O files" in result.stdout


def test_without_an_identity_nothing_is_signed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CHATDESK_CODESIGN_IDENTITY"}
    result = subprocess.run(
        ["bash", str(REPO / "packaging/macos/sign.sh"), str(tmp_path / "ChatDesk.app")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0
    assert "left unsigned" in result.stdout
