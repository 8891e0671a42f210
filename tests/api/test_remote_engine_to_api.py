"""A remote engine added with ``--api-key-env`` talking to ChatDesk's own keyed API server."""

from __future__ import annotations

import pytest

from chatdesk.api.app import ApiConfig
from chatdesk.api.scheduler import FairScheduler
from chatdesk.engine.types import EngineError, LoadOptions, SamplingSettings
from chatdesk.remote.registry import RemoteEngineRegistry
from chatdesk.store import Store
from tests.api.conftest import MODEL_ID, start_api
from tests.support.chat_requests import chat

pytestmark = pytest.mark.slow


QUESTION = "What is the capital of France? Answer in one word."


def test_key_from_the_environment_reaches_the_server(
    scheduler: FairScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_api(scheduler, ApiConfig(api_key="k-123", model_id=MODEL_ID))
    try:
        with Store() as store:
            registry = RemoteEngineRegistry(store)
            registry.add("mine", server.url, api_key_env="CHATDESK_KEY")
            monkeypatch.setenv("CHATDESK_KEY", "wrong")
            engine = registry.open("mine")
            with pytest.raises(EngineError, match="refused the API key"):
                engine.models().result(timeout=30)
            engine.close()
            monkeypatch.setenv("CHATDESK_KEY", "k-123")
            engine = registry.open("mine")
        try:
            engine.load(LoadOptions(MODEL_ID)).result(timeout=30)
            reply = engine.generate(
                chat(
                    [
                        {
                            "role": "user",
                            "content": "What is the capital of France? Answer in one word.",
                        }
                    ],
                    system_prompt="",
                    sampling=SamplingSettings(temperature=0, max_tokens=12),
                )
            )
            reply.wait(timeout=120)
            assert "Paris" in reply.text
            assert reply.report.dialect == "openai-compatible"  # ChatDesk's owned_by
        finally:
            engine.close()
    finally:
        server.stop()
