"""The per-model "Flash attention" setting reaches llama.cpp: Automatic loads a CPU model
with it on, Off without it, and a model loaded without it still answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import SamplingSettings
from chatdesk.services.engine_session import load_options
from tests.support.chat_requests import chat

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)


@pytest.mark.parametrize(("saved", "expected"), [({}, True), ({"flash_attn": 0}, False)])
def test_the_saved_setting_decides_flash_attention(
    starter_model_path: Path, saved: dict[str, int], expected: bool
) -> None:
    client = EngineClient()
    try:
        options = load_options(str(starter_model_path), {"n_ctx": 1024, "n_threads": 1, **saved})
        info = client.load(options).result(timeout=120)
        assert info.flash_attn is expected  # as llama.cpp's log reports it
        stream = client.generate(chat([{"role": "user", "content": "Hi!"}],
                                      sampling=SamplingSettings(max_tokens=8)))  # fmt: skip
        assert stream.wait(timeout=60).generated_tokens > 0
    finally:
        client.close()
