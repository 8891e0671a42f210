"""An API client's chat longer than the model's context, through the official client."""

from __future__ import annotations

from typing import Any

import openai

from chatdesk.api.app import ApiConfig
from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.server import ApiServer
from chatdesk.cli.bench_switch import history_text
from tests.api.conftest import MODEL_ID, start_api
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


def turn_after_a_cut(server: ApiServer, engine: RecordingEngine, name: str) -> Any:
    """Turns, each sent once the warm after the last reply is done (a person reading the
    reply), until a turn leaves more older messages out: that turn's usage (None: no cut)."""
    api = openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=300)
    messages, before = long_chat(name), None
    for number in range(TURNS):
        messages.append({"role": "user", "content": history_text(f"{name} asks {number}", 100)})
        answer = api.chat.completions.create(model=MODEL_ID, messages=messages, **GREEDY)  # type: ignore[call-overload]
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
            usage = turn_after_a_cut(server, api_engine, f"warm {warm}")
        finally:
            server.stop()
        assert usage is not None, "no turn left more messages out"
        uncached[warm] = usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens
    assert uncached[True] < 160, uncached  # the question and its template
    assert uncached[False] > 600, uncached  # the reference: the same turn without the warm
