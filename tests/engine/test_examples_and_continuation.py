"""The real starter model with few-shot examples, and continuing a reply from a prefix."""

from __future__ import annotations

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.context_fit import example_messages
from chatdesk.engine.types import SamplingSettings
from tests.support.chat_requests import chat

pytestmark = pytest.mark.slow
SYSTEM = "You are a helpful assistant."
GREEDY = SamplingSettings(temperature=0.0, repeat_penalty=1.0, max_tokens=12, logprobs=3)
PAIRS = [
    {"user": "Translate to French: cat", "assistant": "chat"},
    {"user": "Translate to French: dog", "assistant": "chien"},
]


def test_examples_go_before_the_conversation_in_the_models_template(
    starter_engine: EngineClient,
) -> None:
    messages = [*example_messages(PAIRS), {"role": "user", "content": "Translate to French: house"}]
    rendered = starter_engine.render(chat(messages, system_prompt=SYSTEM)).result(timeout=30)
    prompt, count = rendered.text, rendered.tokens
    assert prompt.index("chien<|im_end|>") < prompt.index("house")
    assert prompt.count("<|im_start|>assistant\n") == 3
    rendered = starter_engine.render(chat(messages[-1:], system_prompt=SYSTEM)).result(timeout=30)
    _plain, plain_count = rendered.text, rendered.tokens
    assert count > plain_count
    stream = starter_engine.generate(chat(messages, system_prompt=SYSTEM, sampling=GREEDY))
    stream.wait(timeout=120)
    assert stream.fitted is not None
    assert (stream.fitted.kept, stream.fitted.dropped_count) == (1, 0)
    assert stream.fitted.prompt_tokens == count


def test_a_final_assistant_message_is_continued_from_its_text(
    starter_engine: EngineClient,
) -> None:
    question = {"role": "user", "content": "What is the capital of France?"}
    prefix = "The capital of France is"
    messages = [question, {"role": "assistant", "content": prefix}]
    stream = starter_engine.generate(chat(messages, system_prompt=SYSTEM, sampling=GREEDY))
    stream.wait(timeout=120)
    assert stream.text.startswith(" Paris")
    assert stream.choices[0].text == " Paris"
