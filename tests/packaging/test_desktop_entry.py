"""The Linux desktop entry: valid, and naming an icon and command that the bundle ships."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DESKTOP_FILE = REPO / "packaging" / "linux" / "app.chatdesk.ChatDesk.desktop"


def read_entry() -> configparser.SectionProxy:
    """The [Desktop Entry] group, keys case-sensitive."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser["Desktop Entry"]


def test_entry_launches_chatdesk_with_its_icon() -> None:
    entry = read_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "chatdesk"
    assert entry["Terminal"] == "false"
    assert (REPO / "resources" / "icons" / f"{entry['Icon']}.svg").exists()


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="no desktop-file-utils")
def test_desktop_file_validate_accepts_it() -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(DESKTOP_FILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip()  # warnings and hints too
