"""Sampling defaults (issue 24, item 1): llama.cpp's own defaults, or the sampling the
model's authors recommend in its GGUF header, with the user's choices on top; one source
for the window, the command line and the API."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.engine.types import SamplingSettings
from chatdesk.gguf_metadata import read_gguf_metadata, recommended_sampling
from chatdesk.services.settings import DEFAULT_SAMPLING, SettingsService
from chatdesk.store import Store
from tests.support.gguf_factory import ModelSpec, write_model

RECOMMENDED = (
    ("general.sampling.temp", 0.6),
    ("general.sampling.top_k", 20),
    ("general.sampling.top_p", 0.9),
    ("general.sampling.min_p", 0.0),
)


def test_defaults_are_llama_cpps_and_come_from_one_place() -> None:
    engine = SamplingSettings()
    assert engine.repeat_penalty == 1.0  # no penalty: 1.1 bent the starter model's answers
    assert (engine.temperature, engine.top_p, engine.top_k, engine.min_p) == (0.8, 0.95, 40, 0.05)
    for key in ("temperature", "top_p", "top_k", "min_p", "repeat_penalty"):
        assert DEFAULT_SAMPLING[key] == getattr(engine, key)


def test_the_models_recommended_sampling_is_read_from_its_header(tmp_path: Path) -> None:
    path = write_model(tmp_path / "m.gguf", ModelSpec(extra_metadata=RECOMMENDED))
    found = recommended_sampling(read_gguf_metadata(path))
    assert found["top_k"] == 20
    assert found["temperature"] == pytest.approx(0.6)
    assert found["min_p"] == 0.0  # a declared zero is a real choice


def test_hostile_header_values_are_left_out(tmp_path: Path) -> None:
    hostile = (
        ("general.sampling.temp", math.nan),
        ("general.sampling.top_k", "twenty"),
        ("general.sampling.top_p", 7.5),  # a number, but outside top P's limits
    )
    path = write_model(tmp_path / "m.gguf", ModelSpec(extra_metadata=hostile))
    found = recommended_sampling(read_gguf_metadata(path))
    assert "temperature" not in found
    assert "top_k" not in found
    with Store(tmp_path / "chatdesk.db") as store:
        effective = SettingsService(store).effective_sampling({}, found)
    assert effective["top_p"] == DEFAULT_SAMPLING["top_p"]


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[SettingsService]:
    with Store(tmp_path / "chatdesk.db") as store:
        yield SettingsService(store)


def test_layers_model_then_user_defaults_then_conversation(settings: SettingsService) -> None:
    recommended = {"temperature": 0.6, "top_k": 20}
    settings.set_default_sampling({"top_k": 30})
    effective = settings.effective_sampling({"temperature": 0.2}, recommended)
    assert effective["temperature"] == 0.2
    assert effective["top_k"] == 30
    assert effective["repeat_penalty"] == 1.0
    sources = settings.sampling_sources({"temperature": 0.2}, {**recommended, "min_p": 0.1})
    assert sources["temperature"] == "conversation"
    assert sources["top_k"] == "your defaults"
    assert sources["min_p"] == "model"
    assert sources["top_p"] == "llama.cpp"
    # a new conversation stores only what the user chose, so the rest follows the model
    assert settings.default_sampling() == {"top_k": 30}
    assert settings.overrides({**effective, "top_k": 30}, recommended) == {"temperature": 0.2}


QUESTIONS = (
    "What is the capital of France? Answer in one word.",
    "What is the capital of France?",
)


def plain_llama_cpp_answers(model: Path) -> list[str]:
    """What llama-cpp-python itself answers with its own defaults at temperature 0."""
    code = (
        "import json, sys\n"
        "from llama_cpp import Llama\n"
        "llm = Llama(sys.argv[1], n_ctx=2048, n_threads=1, verbose=False,"
        " flash_attn=True)\n"  # the host's settings (flash attention on for CPU)
        "print(json.dumps([llm.create_chat_completion([{'role': 'user', 'content': q}],"
        " temperature=0, max_tokens=24)['choices'][0]['message']['content']"
        " for q in json.loads(sys.argv[2])]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(model), json.dumps(QUESTIONS)],
        capture_output=True, text=True, check=True, timeout=240,
    )  # fmt: skip
    return [str(answer) for answer in json.loads(done.stdout)]


def test_the_starter_model_answers_as_llama_cpp_does_at_temperature_zero(
    starter_model_path: Path, chatdesk_home: Path
) -> None:
    """What the new user asked: plain llama-cpp-python says Paris, so must ChatDesk, word
    for word, with ChatDesk's defaults (the old repeat penalty changed the answer)."""
    pytest.importorskip("llama_cpp")
    expected = plain_llama_cpp_answers(starter_model_path)
    assert "Paris" in expected[0]
    for question, answer in zip(QUESTIONS, expected, strict=True):
        done = subprocess.run(
            [sys.executable, "-m", "chatdesk", "ask", str(starter_model_path), question,
             "--temperature", "0", "--max-tokens", "24", "--json"],
            capture_output=True, text=True, check=True, timeout=240,
        )  # fmt: skip
        assert json.loads(done.stdout)["text"].strip() == answer.strip()
