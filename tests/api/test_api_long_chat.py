"""An API client's chat longer than the model's context, through the official client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai

from chatdesk.api.app import ApiConfig
from chatdesk.api.scheduler import FairScheduler
from chatdesk.cli.bench_switch import history_text
from chatdesk.engine.types import LoadOptions
from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from tests.api.conftest import MODEL_ID, start_api
from tests.support.openai_servers import free_port
from tests.support.recording_engine import RecordingEngine

GREEDY = {"temperature": 0, "top_p": 1.0, "max_tokens": 12}
TURNS = 14  # enough for a cut to move: each turn adds about 130 tokens


def long_chat(name: str) -> list[dict[str, str]]:
    """24 turns of about 130 tokens: past the test host's 2,048-token context."""
    chat = []
    for number in range(24):
        chat.append({"role": "user", "content": history_text(f"{name} {number}", 80)})
        chat.append({"role": "assistant", "content": history_text(f"{name} reply {number}", 40)})
    return chat


def turn_after_a_cut(url: str, engine: RecordingEngine, name: str) -> Any:
    """Turns, each sent once the warm after the last reply is done (a person reading the
    reply), until a turn leaves more older messages out: that turn's usage (None: no cut)."""
    api = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=300)
    messages, before = long_chat(name), None
    for number in range(TURNS):
        messages.append({"role": "user", "content": history_text(f"{name} asks {number}", 100)})
        model = api.models.list().data[0].id
        answer = api.chat.completions.create(model=model, messages=messages, **GREEDY)  # type: ignore[call-overload]
        messages.append({"role": "assistant", "content": answer.choices[0].message.content})
        engine.warms_done()
        usage = answer.usage
        if before is not None and usage.prompt_tokens < before - 300:
            return usage
        before = usage.prompt_tokens
    return None


def test_a_chat_past_the_context_reads_its_kept_part_while_the_client_reads(
    scheduler: FairScheduler, api_engine: RecordingEngine
) -> None:
    """When the next turn of a chat longer than the context must leave more older messages
    out, the kept part is read again. The API server warms each chat as its reply ends, as
    the window does, so that read happens while the person reads the reply, and the next
    request reads only its question. Without the warm, that request read the kept part
    first (about 1,000 tokens here)."""
    uncached = {}
    for warm in (True, False):
        server = start_api(scheduler, ApiConfig(model_id=MODEL_ID, warm_after_reply=warm))
        try:
            usage = turn_after_a_cut(server.url, api_engine, f"warm {warm}")
        finally:
            server.stop()
        assert usage is not None, "no turn left more messages out"
        uncached[warm] = usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens
    assert uncached[True] < 160, uncached  # the question and its template
    assert uncached[False] > 600, uncached  # the reference: the same turn without the warm


def test_the_api_server_as_the_app_runs_it_warms_too(starter_model_path: Path) -> None:
    """The same through the API server the window and ``chatdesk serve`` start, over the
    app's services (its engine is the session's, wrapped)."""
    app = AppServices.create(client_factory=RecordingEngine)
    try:
        events = EventQueue()
        app.set_dispatch(events)
        app.engine.load(str(starter_model_path), LoadOptions(starter_model_path, n_ctx=2048))
        assert events.run_until(lambda: app.engine.ready, timeout=300)
        engine = app.engine.raw_engine
        assert isinstance(engine, RecordingEngine)
        app.api_server.start("127.0.0.1", free_port())
        assert app.api_server.url is not None
        usage = turn_after_a_cut(app.api_server.url, engine, "app")
    finally:
        app.close()
    assert usage is not None, "no turn left more messages out"
    assert usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens < 160
