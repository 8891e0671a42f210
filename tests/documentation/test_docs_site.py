"""The documentation cannot drift from the program.

- The site builds with MkDocs in strict mode: a broken link, a missing page in the navigation
  or a missing picture fails the build (so ``./test`` fails).
- Every picture a page shows is one that ``scripts/screenshots.py --set docs`` produces
  (``DOC_SHOTS``), and every one it produces is committed.
- Every ``$ chatdesk ...`` line of a ``console`` block is parsed by the real command-line
  parser, and each one that needs no network or remote server is run, in document order
  per page, against a fresh data root holding the real starter model: it must succeed
  without a traceback. The API server example (``serve``, then ``curl`` and the ``openai``
  snippet, exactly as shown) is run in ``test_api_examples.py``.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.documentation.doc_examples import (
    DOCS,
    ROOT,
    console_commands,
    prepare_home,
    substitute,
)

NOT_RUN = {  # commands the test parses but does not run, and why
    "serve": "a server that runs until stopped: run by test_api_examples.py",
    "engines": "needs a remote OpenAI-compatible server",
}
NETWORK_MODEL_COMMANDS = {"search", "files", "download"}  # need the Hugging Face hub


def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "architecture" / "index.html").is_file()


def shown_pictures() -> set[str]:
    """Names of the pictures under docs/images that any page or the README shows."""
    pages = [*DOCS.rglob("*.md"), ROOT / "README.md"]
    pattern = re.compile(r"!\[[^\]]*\]\((?:[./]*|docs/)images/([^)\s]+)\)")
    return {name for page in pages for name in pattern.findall(page.read_text("utf-8"))}


def test_every_picture_shown_is_produced_by_the_screenshot_script() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from doc_screenshots import DOC_SHOTS

    shown = shown_pictures()
    assert shown, "the guide shows no screenshot"
    assert shown <= set(DOC_SHOTS), f"not produced by screenshots.py: {shown - set(DOC_SHOTS)}"
    missing = [name for name in DOC_SHOTS if not (DOCS / "images" / name).is_file()]
    assert not missing, f"run scripts/screenshots.py --set docs: {missing}"


def test_every_documented_command_parses() -> None:
    from chatdesk.cli.main import build_parser

    commands = console_commands()
    assert len(commands) >= 15, "the guide should show its commands in console blocks"
    parser = build_parser()
    for _page, line in commands:
        args = shlex.split(line)[1:]
        parsed = parser.parse_args(args)  # SystemExit (a failure here) on a wrong option
        assert parsed.command == args[0]


def runnable(args: list[str]) -> bool:
    """Whether a documented command can run here (no hub, no remote server)."""
    if args[0] in NOT_RUN:
        return False
    return not (args[0] == "models" and args[1] in NETWORK_MODEL_COMMANDS)


@pytest.mark.parametrize("page", sorted({page for page, _ in console_commands()}))
def test_documented_commands_run(page: str, tmp_path: Path, starter_model_path: Path) -> None:
    env, conversation = prepare_home(tmp_path, starter_model_path)
    for line in [line for where, line in console_commands() if where == page]:
        args = substitute(shlex.split(line)[1:], conversation)
        if not runnable(args):
            continue
        done = subprocess.run(
            [sys.executable, "-m", "chatdesk", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=240,
        )
        assert done.returncode == 0, f"{page}: {line}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, done.stderr


def test_screenshot_script_lists_the_docs_set() -> None:
    """``--set docs`` is an accepted choice of the script the guide names."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert "docs" in done.stdout
    assert shutil.which("mkdocs", path=str(Path(sys.executable).parent))
