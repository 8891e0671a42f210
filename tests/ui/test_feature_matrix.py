"""Every combination of features through the real window (issue 19, item 3).

API server on/off x tools on/off x documents on/off x token probabilities on/off, on the
local engine host (the real starter model) and on a remote engine (a real
``llama_cpp.server`` serving the same model, behind a recording proxy): 32 cells. Every
cell sends one question from the composer of one real ``MainWindow`` and must end in a
complete reply or a clear refusal (a one-line reason on the reply), and Show prompt
(the window's own action) must equal what the engine received:

- local: the prompt shown holds the few-shot example, the passages (documents on) and the
  tool definitions (tools on), and its token count is the reply's context-meter count;
- remote: the JSON shown is the body the server got (messages and tools), field by field.

With the API server on (switched on in its panel), the window replies through the
scheduler's priority lane and one API request is answered beside it.

Cost on a 2-core machine: one window, one engine host and one server for all cells
(module-scoped), eight tokens per reply at temperature 0. The results are printed as a
table at the end (``-s`` not needed), ready for a closing note.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from chatdesk.engine.client import EngineClient
from chatdesk.services.app_services import AppServices
from chatdesk.services.engine_session import ModelState
from chatdesk.ui.api_server_panel import ApiServerPanel
from chatdesk.ui.app import create_window
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.prompt_viewer import PromptViewer
from tests.support.openai_servers import MODEL_ID, FaultProxy, LlamaCppServer, free_port, require

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow

EXAMPLE = {"user": "Say hello.", "assistant": "Hello there, dear friend!"}
FACT = "The night ferry to Zanzibar leaves from pier 4 at seven."
QUESTION = "When does the night ferry to Zanzibar leave?"
REMOTE = f"remote:llama/{MODEL_ID}"
REPLY_TIMEOUT_MS = 180_000


@dataclass(frozen=True)
class Cell:
    engine: str  # "local" or "remote"
    api: bool
    tools: bool
    docs: bool
    probs: bool

    @property
    def id(self) -> str:
        flags = zip(("api", "tools", "docs", "probs"), self.switches(), strict=True)
        return "-".join([self.engine, *(name if on else f"no{name}" for name, on in flags)])

    def switches(self) -> tuple[bool, bool, bool, bool]:
        return self.api, self.tools, self.docs, self.probs


CELLS = [
    Cell(engine, api, tools, docs, probs)
    for engine in ("local", "remote")
    for api in (False, True)
    for tools in (False, True)
    for docs in (False, True)
    for probs in (False, True)
]


@dataclass
class Outcome:
    result: str = "?"  # "complete", "refused: ...", or what went wrong
    prompt: str = "?"  # how Show prompt compared with what the engine received
    api: str = "-"
    ok: bool = False


@pytest.fixture(scope="module")
def matrix_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One data root for the whole matrix (the per-test one would change under it)."""
    home = tmp_path_factory.mktemp("matrix-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHATDESK_HOME", str(home))
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield home


@pytest.fixture(scope="module")
def results(pytestconfig: pytest.Config) -> Iterator[dict[str, Outcome]]:
    """Each cell's outcome; printed as a table when the module is done."""
    found: dict[str, Outcome] = {}
    yield found
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and found:
        with capture.global_and_fixture_disabled():  # shown even when every cell passed
            for line in matrix_table(found):
                reporter.write_line(line)


def matrix_table(found: dict[str, Outcome]) -> list[str]:
    """The results as a Markdown table."""
    lines = ["", "| engine | API | tools | docs | probs | reply | Show prompt | API reply |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for cell in CELLS:
        outcome = found.get(cell.id)
        if outcome is None:
            continue
        marks = ["on" if on else "off" for on in cell.switches()]
        lines.append(
            f"| {cell.engine} | {' | '.join(marks)} | {outcome.result} | {outcome.prompt} "
            f"| {outcome.api} |"
        )
    return lines


@pytest.fixture(scope="module")
def window(qapp: QApplication, matrix_home: Path) -> Iterator[MainWindow]:
    """One real window over the app's services, with a document collection and one tool."""
    services = AppServices.create(client_factory=EngineClient)
    notes = matrix_home / "notes"
    notes.mkdir()
    (notes / "ferries.md").write_text(f"# Ferries\n\n{FACT}\n", encoding="utf-8")
    services.documents.add([notes], "Ferries")
    services.documents.index_collection("Ferries")
    for entry in services.tools.tools():
        services.tools.set_enabled(entry.name, entry.name == "calculator")
    services.tools.set_policy("calculator", "allow")
    services.tools.set_max_steps(2)
    opened = create_window(qapp, services)
    opened.show()
    yield opened
    opened.close()
    services.store.close()


@pytest.fixture(scope="module")
def remote(matrix_home: Path, starter_model_path: Path) -> Iterator[FaultProxy]:
    """A real llama_cpp.server with the starter model, behind a proxy that records bodies."""
    require("llama_cpp", "sse_starlette", "pydantic_settings")
    server = LlamaCppServer(starter_model_path, threads=1)
    proxy = FaultProxy(server.url)
    yield proxy
    proxy.server.stop()
    server.close()


@pytest.fixture(scope="module")
def api_panel(window: MainWindow) -> Iterator[ApiServerPanel]:
    """The API server tab's panel, over the window's services."""
    panel = ApiServerPanel(window.services.api_server, window.services.settings)
    panel.port.setValue(free_port())
    yield panel
    panel.switch.setChecked(False)
    panel.deleteLater()


@pytest.mark.parametrize("cell", CELLS, ids=[cell.id for cell in CELLS])
def test_every_combination_replies_and_shows_the_prompt_sent(  # noqa: PLR0917 (fixtures)
    cell: Cell,
    qtbot: QtBot,
    window: MainWindow,
    api_panel: ApiServerPanel,
    results: dict[str, Outcome],
    request: pytest.FixtureRequest,
    starter_model_path: Path,
) -> None:
    proxy = request.getfixturevalue("remote") if cell.engine == "remote" else None
    outcome = results[cell.id] = Outcome()
    use_engine(qtbot, window, proxy, str(starter_model_path))
    switch_features(window, api_panel, cell)
    reply = send_question(qtbot, window, cell)
    outcome.result = reply_result(reply) + features_missing(window, cell, reply)
    shown_text, shown_tokens = show_prompt(window)
    outcome.prompt = compare_prompt(cell, reply, shown_text, shown_tokens, proxy)
    if cell.api:
        outcome.api = api_reply(api_panel)
    outcome.ok = (
        outcome.prompt.startswith("equal")
        and (outcome.result == "complete" or outcome.result.startswith("refused"))
        and outcome.api in ("-", "complete")
    )
    assert outcome.ok, f"{cell.id}: {outcome}"


# -- steps -----------------------------------------------------------------------------


def use_engine(qtbot: QtBot, window: MainWindow, proxy: FaultProxy | None, local: str) -> None:
    """The starter model in the local host, or the same model on the remote server."""
    services = window.services
    if proxy is not None and not services.remote_engines.engines():
        services.remote_engines.add("llama", proxy.url)
    wanted = REMOTE if proxy is not None else local
    if services.engine.status.path != wanted or not services.engine.ready:
        window.load_model(wanted)
        qtbot.waitUntil(
            lambda: services.engine.status.state is not ModelState.LOADING, timeout=180_000
        )
    assert services.engine.ready, window.notice.label.text()


def switch_features(window: MainWindow, api_panel: ApiServerPanel, cell: Cell) -> None:
    """Each feature switched as a user does (API panel, View menu, Tools setting)."""
    api_panel.switch.setChecked(cell.api)
    assert window.services.api_server.running is cell.api, api_panel.state.text()
    assert window.tokens.keep_action is not None
    window.tokens.keep_action.setChecked(cell.probs)
    window.services.tools.set_offered_in_chat(cell.tools)


def send_question(qtbot: QtBot, window: MainWindow, cell: Cell) -> Any:
    """A new chat with the example (and the collection), asked from the composer."""
    window.new_chat()
    cid = window.conversation_id
    assert cid is not None
    window.tokens.save_examples([EXAMPLE])  # as an edit in the Examples editor saves them
    window.services.document_turns.attach(cid, ["Ferries"] if cell.docs else [])
    boxes = window.settings_panel.conversation.boxes
    boxes["max_tokens"].setValue(8)
    boxes["temperature"].setValue(0.0)
    boxes["seed"].setValue(1)
    window.composer.text.setPlainText(QUESTION)
    window.composer.send_button.click()
    qtbot.waitUntil(lambda: not window.turns.streaming, timeout=REPLY_TIMEOUT_MS)
    return window.chat.messages(cid)[-1]


def reply_result(reply: Any) -> str:
    """``complete``, ``refused: <reason>`` (a failed reply that says why in one line), or
    what is wrong with the reply."""
    if reply.role != "assistant":
        return f"no reply (the branch ends with a {reply.role} message)"
    if reply.status == "complete" and (reply.content or reply.finish_reason == "length"):
        return "complete"
    reason = (reply.error or "").strip()
    if reply.status == "error" and reason and "\n" not in reason and "Traceback" not in reason:
        return f"refused: {reason[:120]}"
    return f"{reply.status}: {reason[:200] or 'no reason given'}"


def features_missing(window: MainWindow, cell: Cell, reply: Any) -> str:
    """What a complete reply lacks of the features switched on ("" when nothing)."""
    if reply.status != "complete":
        return ""
    missing = []
    if cell.probs and not window.services.probabilities.choices(reply.id):
        missing.append("token probabilities")
    if cell.docs and not window.chat.passages(reply):
        missing.append("passages")
    return f" without {' and '.join(missing)}" if missing else ""


def show_prompt(window: MainWindow) -> tuple[str, int | None]:
    """View > Show prompt, read when rendered, then closed: (text, tokens or None)."""
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + 120

    def poll() -> None:
        viewer = QApplication.activeModalWidget()
        if isinstance(viewer, PromptViewer):
            summary = viewer.summary.text()
            if "tokens" in summary or "Could not" in summary or time.monotonic() > deadline:
                seen["text"], seen["summary"] = viewer.text.toPlainText(), summary
                viewer.reject()
                return
        QTimer.singleShot(50, poll)

    QTimer.singleShot(0, poll)
    window.show_prompt()  # a modal dialog: returns once poll() closed it
    summary = str(seen.get("summary", ""))
    first = summary.split(maxsplit=1)[0] if summary.strip() else ""
    tokens = int(first) if first.isdigit() else None
    return str(seen.get("text", summary)), tokens


def compare_prompt(
    cell: Cell, reply: Any, text: str, tokens: int | None, proxy: FaultProxy | None
) -> str:
    """How the prompt shown compares with what the engine got ("equal..." when it does)."""
    missing = [what for what, there in expected_parts(cell, text) if not there]
    if missing:
        return f"missing {', '.join(missing)}"
    if proxy is not None:
        return compare_with_body(text, proxy)
    if tokens is None or tokens != reply.prompt_tokens:
        return f"{tokens} tokens shown, context meter {reply.prompt_tokens}"
    return f"equal ({tokens} tokens = meter)"


def expected_parts(cell: Cell, text: str) -> list[tuple[str, bool]]:
    """What the prompt must hold for this cell."""
    parts = [("example", EXAMPLE["assistant"] in text), ("question", "Zanzibar" in text)]
    if cell.docs:
        parts.append(("passages", "pier 4" in text))
    if cell.tools:
        parts.append(("tool definitions", "calculator" in text))
    return parts


def compare_with_body(text: str, proxy: FaultProxy) -> str:
    """The JSON shown against the last chat request the server received."""
    bodies = [body for path, body in proxy.received if path.endswith("/chat/completions")]
    if not bodies:
        return "the server received no chat request"
    sent, shown = json.loads(bodies[-1]), json.loads(text[text.index("{") :])
    for field in ("messages", "tools"):
        if sent.get(field) != shown.get(field):
            return f"{field} differ from what the server received"
    return f"equal ({len(sent['messages'])} messages{', tools' if sent.get('tools') else ''})"


def api_reply(panel: ApiServerPanel) -> str:
    """One request to the API server the panel runs, answered beside the window."""
    url = panel.service.url
    assert url is not None
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=120)
    try:
        model = client.models.list().data[0].id
        answer = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Say yes."}],
            max_tokens=4, temperature=0,
        )  # fmt: skip
    except openai.APIError as error:
        return f"failed: {error}"[:120]
    return "complete" if answer.choices and answer.choices[0].message else "empty"
