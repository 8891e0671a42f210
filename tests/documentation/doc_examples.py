"""Reading the examples out of the guide, and a data root to run them in.

Examples are the lines of fenced ``console`` blocks that start with ``$ chatdesk``; the
guide writes them as a user types them, with a few names a user would replace, which the
tests replace the same way: ``ID`` (a conversation id), the starter model's file name (found
under the data root's models folder, as for a user who installed it), a ``notes`` folder
and a ``trip.json`` file in the working folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
STARTER_FOLDER = Path("models") / "HuggingFaceTB" / "SmolLM2-135M-Instruct"
NOTES = "# Trip notes\n\nThe ferry to Zanzibar leaves at 07:30 from pier 3.\n"


@cache
def console_commands() -> list[tuple[str, str]]:
    """(page, command line without the ``$ ``) for every documented ``chatdesk`` command."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        for block in BLOCK.findall(page.read_text("utf-8")):
            lines = block.replace("\\\n", " ").splitlines()  # a "\" line goes on below
            found += [
                (str(page.relative_to(DOCS)), line[2:].strip())
                for line in lines
                if line.startswith("$ chatdesk ")
            ]
    return found


def substitute(args: list[str], conversation: str) -> list[str]:
    """The documented arguments with ``ID`` replaced by a real conversation id."""
    return [conversation if arg == "ID" else arg for arg in args]


def prepare_home(folder: Path, starter: Path) -> tuple[dict[str, str], str]:
    """A data root holding the starter model and one conversation; (environment, its id)."""
    home = folder / "home"
    (home / STARTER_FOLDER).mkdir(parents=True)
    os.symlink(starter, home / STARTER_FOLDER / starter.name)
    (folder / "notes").mkdir()
    (folder / "notes" / "trip.md").write_text(NOTES, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "CHATDESK_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
    }
    run = [sys.executable, "-m", "chatdesk"]
    question = [starter.name, "Hello", "--max-tokens", "8", "--temperature", "0"]
    subprocess.run([*run, "ask", *question], env=env, check=True, capture_output=True)
    listed = subprocess.run([*run, "list", "--json"], env=env, check=True, capture_output=True)
    return env, str(json.loads(listed.stdout)[0]["id"])
