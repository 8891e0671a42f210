"""The engines settings page and the API-server panel, with real servers on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest
from pytestqt.qtbot import QtBot

from chatdesk.engine.types import LoadOptions
from chatdesk.services.api_server import ApiServerService
from chatdesk.services.remote_engines import RemoteEngineService
from chatdesk.services.settings import SettingsService
from chatdesk.store import Store
from chatdesk.ui.api_server_panel import ApiServerPanel
from chatdesk.ui.engines_page import EngineDialog, EnginesPage
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.remote_tabs import LazyTab
from chatdesk.ui.settings_sections import MIN_WIDTH
from tests.support.openai_servers import free_port
from tests.support.scripted_engine import ScriptedEngine
from tests.ui.conftest import wait_for_model, wait_for_reply


@pytest.fixture
def store() -> Iterator[Store]:
    with Store() as opened:
        yield opened


@pytest.fixture
def serving(fake_gguf: Path) -> Iterator[ApiServerService]:
    engine = ScriptedEngine(tokens=200, rate=100.0)
    engine.load(LoadOptions(fake_gguf)).result()
    service = ApiServerService(engine)
    yield service
    service.stop()


def dialog(page: EnginesPage, name: str, url: str, key: str = "") -> EngineDialog:
    filled = EngineDialog(page, name, url)
    filled.name.setReadOnly(False)
    filled.key.setText(key)
    return filled


def test_add_edit_remove_engines(qtbot: QtBot, store: Store) -> None:
    page = EnginesPage(RemoteEngineService(store))
    qtbot.addWidget(page)
    page.add_from(dialog(page, "gpu", "http://gpu-box:8000"))
    assert page.list.count() == 1
    assert "http://gpu-box:8000/v1" in page.list.item(0).text()
    page.add_from(dialog(page, "bad name", "http://x"))
    assert "Could not add the engine: engine name 'bad name'" in page.status.text()
    page.list.setCurrentRow(0)
    page.edit_from(dialog(page, "gpu", "https://gpu-box/v1"))
    assert "https://gpu-box/v1" in page.list.item(0).text()
    page.remove()
    assert page.list.count() == 0


def test_a_key_without_a_keyring_is_said_to_be_for_this_session(
    qtbot: QtBot, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatdesk.remote import keys

    monkeypatch.setattr(keys, "keyring_available", lambda: False)
    page = EnginesPage(RemoteEngineService(store))
    qtbot.addWidget(page)
    page.add_from(dialog(page, "cloud", "https://api.example/v1", key="sk-1"))
    assert "this session only" in page.status.text()
    assert "sk-1" not in page.list.item(0).text()
    keys.delete_key("cloud")


def test_models_of_an_engine_are_listed(
    qtbot: QtBot, store: Store, serving: ApiServerService
) -> None:
    serving.start("127.0.0.1", free_port())
    assert serving.url is not None
    page = EnginesPage(RemoteEngineService(store))
    qtbot.addWidget(page)
    page.add_from(dialog(page, "mine", serving.url))
    page.add_from(dialog(page, "down", f"http://127.0.0.1:{free_port()}/v1"))
    page.list.setCurrentRow(0)  # "down" sorts first
    page.show_models()
    qtbot.waitUntil(lambda: "Could not list models" in page.models.text(), timeout=10000)
    assert "connection refused" in page.models.text()
    page.list.setCurrentRow(1)
    page.show_models()
    qtbot.waitUntil(lambda: page.models.text() == "Models: scripted-model", timeout=10000)


def test_api_switch_shows_url_and_running_requests(
    qtbot: QtBot, serving: ApiServerService, store: Store
) -> None:
    panel = ApiServerPanel(serving, SettingsService(store))
    qtbot.addWidget(panel)
    panel.port.setValue(free_port())
    panel.switch.setChecked(True)
    assert panel.state.text().startswith(f"On at http://127.0.0.1:{panel.port.value()}/v1")
    assert not panel.host.isEnabled()
    client = openai.OpenAI(base_url=serving.url, api_key="x", max_retries=0)
    done = threading.Event()

    def ask() -> None:
        stream = client.chat.completions.create(
            model="scripted-model", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        for _chunk in stream:
            pass
        done.set()

    threading.Thread(target=ask, daemon=True).start()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=10000)
    assert panel.table.item(0, 2).text() == "running"
    assert done.wait(timeout=20)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 0, timeout=5000)
    panel.switch.setChecked(False)
    assert panel.state.text() == "Off"
    assert not serving.running


def test_api_switch_refuses_a_network_address_without_a_key(
    qtbot: QtBot, serving: ApiServerService, store: Store
) -> None:
    panel = ApiServerPanel(serving, SettingsService(store))
    qtbot.addWidget(panel)
    panel.host.setText("0.0.0.0")
    panel.switch.setChecked(True)
    assert "Not started" in panel.state.text()
    assert "API key" in panel.state.text()
    assert not panel.switch.isChecked()
    assert not serving.running


def test_api_switch_and_port_survive_a_restart(qtbot: QtBot, store: Store, fake_gguf: Path) -> None:
    """Issue 24, item 9: the API server setting (port, on/off) was lost on restart."""
    port = free_port()
    first = ApiServerService(ScriptedEngine())
    panel = ApiServerPanel(first, SettingsService(store))
    qtbot.addWidget(panel)
    panel.port.setValue(port)
    panel.save.setChecked(True)
    panel.switch.setChecked(True)
    assert first.running
    first.stop()  # the app closes
    engine = ScriptedEngine()
    engine.load(LoadOptions(fake_gguf)).result()
    second = ApiServerService(engine)
    again = ApiServerPanel(second, SettingsService(store))  # the next start
    qtbot.addWidget(again)
    try:
        assert again.switch.isChecked()
        assert again.port.value() == port
        assert again.save.isChecked()
        assert second.url == f"http://127.0.0.1:{port}/v1"
        models = openai.OpenAI(base_url=second.url, api_key="x", max_retries=0).models.list()
        assert [m.id for m in models.data] == ["scripted-model"]
        again.switch.setChecked(False)
        assert not SettingsService(store).api_server_config()["enabled"]
    finally:
        second.stop()


def test_a_saved_api_server_is_on_after_a_restart_without_its_section_shown(
    qtbot: QtBot, make_window: Callable[..., MainWindow], fake_gguf: Path
) -> None:
    """QA: nothing listened until the folded API server section was unfolded."""
    port = free_port()
    with Store() as store:
        SettingsService(store).set_api_server_config(True, "127.0.0.1", port, False)
    window = make_window(ScriptedEngine)
    window.load_model(str(fake_gguf))
    wait_for_model(qtbot, window)
    server = window.services.api_server
    qtbot.waitUntil(lambda: server.running)
    assert server.url == f"http://127.0.0.1:{port}/v1"
    models = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0).models.list()
    assert [m.id for m in models.data] == ["scripted-model"]
    lazy = [t for t in window.settings_panel.findChildren(LazyTab) if t.content is not None]
    assert lazy == []  # the section was never shown


def test_window_picks_a_remote_model_and_the_conversation_records_it(
    qtbot: QtBot, make_window: Callable[..., MainWindow], serving: ApiServerService
) -> None:
    serving.start("127.0.0.1", free_port())
    assert serving.url is not None
    with Store() as store:
        RemoteEngineService(store).add("mine", serving.url)
    window = make_window(ScriptedEngine)
    picker = window.picker
    qtbot.waitUntil(lambda: picker.findData("remote:mine/scripted-model") >= 0, timeout=10000)
    index = picker.findData("remote:mine/scripted-model")
    assert picker.itemText(index - 1) == "Remote: mine"  # the engine's group header
    picker.setCurrentIndex(index)
    picker.activated.emit(index)
    wait_for_model(qtbot, window)
    assert window.services.engine.ready
    assert window.services.engine.status.info.backend == "remote (mine)"  # type: ignore[union-attr]
    window.composer.text.setPlainText("Hello there")
    window.composer.send_button.click()
    wait_for_reply(qtbot, window)
    conversation = window.services.store.get_conversation(window.conversation_id)  # type: ignore[arg-type]
    assert conversation.model == "remote:mine/scripted-model"
    reply = window.services.store.active_path(conversation.id)[-1]
    assert reply.content.startswith("Here is a small example.")
    assert reply.model_identity["engine"] == "mine"
    # ChatDesk's own API is known as ChatDesk's: top-k and friends are sent, none dropped
    assert not (reply.extra or {}).get("sampling_not_sent")
    assert "does not take" not in window.notice.label.text()
    assert window.settings_panel.section_titles()[-2:] == ["Engines", "API server"]


def test_engines_and_api_server_sections_fit_a_narrow_panel(
    qtbot: QtBot, make_window: Callable[..., MainWindow]
) -> None:
    """QA: opening API server widened the panel past the dock, cutting every section at the
    right (its switch's long text, the Engines buttons, the requests table)."""
    window = make_window(ScriptedEngine)
    window.dock.show()
    panel = window.settings_panel
    for title in ("Engines", "API server"):
        panel.show_section(title)
        assert panel.section(title).minimumSizeHint().width() <= MIN_WIDTH
    assert panel.content().minimumSizeHint().width() <= MIN_WIDTH
    window.resize(1200, window.height())  # the panel gets its preferred 360 px
    qtbot.waitUntil(lambda: panel.content().width() <= panel.viewport().width())
