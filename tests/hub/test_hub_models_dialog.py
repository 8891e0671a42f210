"""The Models dialog (offscreen) against the 127.0.0.1 hub: search, files, download, load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import HostedRepo, TestHub
from pytestqt.qtbot import QtBot

from chatdesk import paths
from chatdesk.hub.system import GIB, MachineMemory
from chatdesk.services.models import ModelService
from chatdesk.ui.models_dialog import ModelsDialog
from tests.support.gguf_factory import write_truncated

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def cell(table, row: int, column: int) -> str:  # type: ignore[no-untyped-def]
    item = table.item(row, column)
    return item.text() if item is not None else ""


def column_texts(table, column: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [cell(table, row, column) for row in range(table.rowCount())]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ModelService]:
    service = ModelService(
        hf_cache_dir=tmp_path / "no-hf-cache",
        memory=MachineMemory(8 * GIB, 6 * GIB),
        bandwidth=20e9,
    )
    yield service
    service.close()


@pytest.fixture
def dialog(qtbot: QtBot, service: ModelService) -> ModelsDialog:
    dialog = ModelsDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_catalogue_puts_the_recommendation_first(dialog: ModelsDialog) -> None:
    table = dialog.catalogue.table
    assert table.rowCount() >= 10
    assert cell(table, 0, 7) == "Recommended"
    assert table.item(0, 0).font().bold()
    assert "Recommended for this machine" in dialog.catalogue.summary.text()
    assert "tokens/s here" in dialog.catalogue.summary.text()
    assert column_texts(table, 7).count("Recommended") == 1
    assert table.horizontalHeaderItem(4).text() == "Speed here"
    speeds = column_texts(table, 4)
    assert all(text.startswith("about ") and text.endswith(" tokens/s") for text in speeds)
    assert (
        dialog.catalogue.quant.currentData()
        == dialog.catalogue.selected_model().default_quantization
    )  # type: ignore[union-attr]


def test_search_files_download_and_load(
    qtbot: QtBot, dialog: ModelsDialog, small_repo: HostedRepo
) -> None:
    dialog.search.query.setText("tiny")
    dialog.search.search_button.click()
    qtbot.waitUntil(lambda: dialog.search.table.rowCount() == 1, timeout=10_000)
    assert cell(dialog.search.table, 0, 0) == small_repo.repo_id

    dialog.search.table.selectRow(0)
    dialog.search.files_button.click()
    qtbot.waitUntil(lambda: dialog.files.table.rowCount() == 3, timeout=10_000)
    assert dialog.tabs.currentWidget() is dialog.files
    quants = column_texts(dialog.files.table, 1)
    assert sorted(quants) == ["F16", "Q4_K_M", "Q8_0"]
    assert set(column_texts(dialog.files.table, 3)) == {"Fits"}

    dialog.files.table.selectRow(quants.index("Q4_K_M"))
    dialog.files.download_button.click()
    assert dialog.tabs.currentWidget() is dialog.downloads
    qtbot.waitUntil(lambda: cell(dialog.downloads.table, 0, 4) == "done", timeout=10_000)
    bar = dialog.downloads.table.cellWidget(0, 1)
    assert bar.value() == 1000  # type: ignore[attr-defined]

    library = dialog.library.table
    assert column_texts(library, 0) == ["test-org/Tiny-Chat-GGUF/tiny-chat-Q4_K_M.gguf"]
    assert cell(library, 0, 8).startswith("not a usable GGUF file")  # the test bytes are no model


def test_download_a_real_model_then_load_it(
    qtbot: QtBot, dialog: ModelsDialog, online_hub: TestHub, tiny_model_path: Path
) -> None:
    data = tiny_model_path.read_bytes()
    online_hub.add_repo(HostedRepo("test-org/Real-GGUF", {"real-F32.gguf": data}))
    dialog.files.request("test-org/Real-GGUF")
    qtbot.waitUntil(lambda: dialog.files.table.rowCount() == 1, timeout=10_000)
    dialog.files.table.selectRow(0)
    dialog.files.download_button.click()
    qtbot.waitUntil(lambda: cell(dialog.downloads.table, 0, 4) == "done", timeout=10_000)

    library = dialog.library.table
    assert column_texts(library, 0) == ["test-org/Real-GGUF/real-F32.gguf"]
    assert (cell(library, 0, 3), cell(library, 0, 8)) == ("llama", "")
    library.selectRow(0)
    with qtbot.waitSignal(dialog.model_chosen, timeout=2000) as chosen:
        dialog.library.load_button.click()
    assert chosen.args == [str(paths.models_dir() / "test-org/Real-GGUF/real-F32.gguf")]
    assert not dialog.isVisible()


def test_hub_errors_show_in_the_status_line(
    qtbot: QtBot, dialog: ModelsDialog, online_hub: TestHub
) -> None:
    dialog.files.request("nobody/Missing-GGUF")
    qtbot.waitUntil(lambda: "not found on the hub" in dialog.status.text(), timeout=10_000)
    assert dialog.files.table.rowCount() == 0


def test_offline_search_says_so(qtbot: QtBot, dialog: ModelsDialog) -> None:
    dialog.search.query.setText("qwen")
    dialog.search.search_button.click()
    qtbot.waitUntil(lambda: "offline mode" in dialog.status.text(), timeout=10_000)
    assert dialog.search.search_button.isEnabled()


def test_cancel_a_running_download(
    qtbot: QtBot, dialog: ModelsDialog, small_repo: HostedRepo, online_hub: TestHub
) -> None:
    online_hub.faults.stall_seconds["tiny-chat-Q8_0.gguf"] = 1.5  # time to press Cancel
    dialog.files.request(small_repo.repo_id)
    qtbot.waitUntil(lambda: dialog.files.table.rowCount() == 3, timeout=10_000)
    dialog.files.table.selectRow(column_texts(dialog.files.table, 1).index("Q8_0"))
    dialog.files.download_button.click()
    qtbot.waitUntil(lambda: cell(dialog.downloads.table, 0, 4) == "downloading", timeout=10_000)

    dialog.downloads.table.selectRow(0)
    dialog.downloads.cancel_button.click()

    qtbot.waitUntil(lambda: cell(dialog.downloads.table, 0, 4) == "cancelled", timeout=10_000)
    assert dialog.library.table.rowCount() == 0


def test_import_and_delete_in_the_library(
    qtbot: QtBot, dialog: ModelsDialog, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog.import_path(tiny_model_path)
    assert column_texts(dialog.library.table, 0) == [f"local/{tiny_model_path.name}"]
    assert cell(dialog.library.table, 0, 3) == "llama"
    assert cell(dialog.library.table, 0, 6) == "yes"

    monkeypatch.setattr(dialog, "confirm", lambda question: True)
    dialog.library.table.selectRow(0)
    dialog.library.delete_button.click()

    assert dialog.library.table.rowCount() == 0
    assert not (paths.models_dir() / "local" / tiny_model_path.name).exists()


@pytest.mark.parametrize("damage", ["bad header", "truncated"])
def test_a_broken_model_cannot_be_loaded(
    qtbot: QtBot, dialog: ModelsDialog, tmp_path: Path, damage: str
) -> None:
    broken = paths.models_dir() / "org" / "R" / "broken.gguf"
    broken.parent.mkdir(parents=True)
    if damage == "truncated":
        write_truncated(broken)
    else:
        broken.write_bytes(b"GGUF" + bytes(10))
    dialog.refresh()
    dialog.library.table.selectRow(0)

    with qtbot.assertNotEmitted(dialog.model_chosen):
        dialog.library.load_button.click()

    assert "Cannot load org/R/broken.gguf" in dialog.status.text()


def test_opening_the_dialog_touches_no_network(
    qtbot: QtBot, service: ModelService, online_hub: TestHub
) -> None:
    dialog = ModelsDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentWidget(dialog.library)
    dialog.refresh()
    assert online_hub.requests == []
