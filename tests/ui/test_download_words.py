"""What the downloads and the starter install say (issue 24, items 12-13): a failed row
says failed (never "waiting"), its whole reason is in the tooltip, Cancel is offered only
while a download can be cancelled, and the starter's two steps say what they count."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from chatdesk.services.models import DownloadJob, JobState
from chatdesk.ui.models_dialog import DownloadsTab
from chatdesk.ui.welcome import PHASES


def test_a_failed_download_says_so_and_cannot_be_cancelled(qtbot: QtBot) -> None:
    tab = DownloadsTab()
    qtbot.addWidget(tab)
    reason = "connection refused by huggingface.co after 5 attempts (the hub is down)"
    tab.show_job(DownloadJob(1, "Qwen/Qwen3-1.7B-GGUF", "q4.gguf", JobState.QUEUED))
    tab.table.selectRow(0)
    assert tab.cancel_button.isEnabled()
    tab.show_job(DownloadJob(1, "Qwen/Qwen3-1.7B-GGUF", "q4.gguf", JobState.FAILED, error=reason))
    bar = tab.table.cellWidget(0, 1)
    assert bar.format() == "failed"  # type: ignore[union-attr]
    cell = tab.table.item(0, 4)
    assert cell is not None
    assert cell.toolTip() == f"failed: {reason}"
    assert not tab.cancel_button.isEnabled()


def test_the_starter_steps_name_what_their_megabytes_are() -> None:
    assert PHASES["download"].startswith("Step 1 of 2")
    assert "package" in PHASES["download"]
    assert PHASES["verify"].startswith("Step 2 of 2")
    assert "model" in PHASES["verify"]
