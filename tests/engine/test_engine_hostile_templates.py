"""The engine host with hostile chat templates: an empty prompt is refused before llama.cpp
(it aborted the host with GGML_ASSERT on models without BOS), and Stop ends a template that
would otherwise render for the whole budget."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import EngineError, LoadOptions, SamplingSettings
from tests.engine.hostile_templates import HOSTILE_TEMPLATES
from tests.support.chat_requests import chat

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)
HELLO = [{"role": "user", "content": "Hello"}]
SAMPLING = SamplingSettings(seed=1, max_tokens=5)


def load(client: EngineClient, model: Path, template: str) -> None:
    client.load(LoadOptions(model, n_ctx=512, n_threads=1, chat_template=template)).result(60)


def test_empty_prompt_is_refused_and_the_host_lives(
    fresh_engine: EngineClient, tiny_model_path: Path
) -> None:
    load(fresh_engine, tiny_model_path, "{% if false %}x{% endif %}")  # renders nothing
    stream = fresh_engine.generate(chat(HELLO, sampling=SAMPLING))
    with pytest.raises(EngineError, match="empty prompt") as refused:
        stream.wait(timeout=60)
    assert refused.value.code == "template_error"
    assert fresh_engine.status().result(30)["model"] is not None  # the host did not abort


def test_stop_ends_a_reply_whose_template_is_still_rendering(
    fresh_engine: EngineClient, tiny_model_path: Path
) -> None:
    load(fresh_engine, tiny_model_path, HOSTILE_TEMPLATES["silent range loops"] + "{{ 'x' }}")
    stream = fresh_engine.generate(chat(HELLO, sampling=SAMPLING))
    threading.Timer(0.3, stream.cancel).start()
    started = time.perf_counter()
    stats = stream.wait(timeout=60)
    assert stats.finish_reason == "cancelled"
    assert time.perf_counter() - started < 4.0  # well before the 5 s template budget
