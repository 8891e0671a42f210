"""render_chat produces exactly what transformers' own chat-template renderer produces.

Every real template in tests/data/templates (copied from llama.cpp's test data) is rendered
for several conversations by both; where transformers refuses a conversation (a template
that raises, e.g. on a system message it does not support), render_chat must refuse too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatdesk.engine.templates import TemplateError, render_chat

chat_template_utils = pytest.importorskip("transformers.utils.chat_template_utils")

TEMPLATES = sorted((Path(__file__).parent.parent / "data" / "templates").glob("*.jinja"))

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City, e.g. Zürich"}},
            "required": ["city"],
        },
    },
}
SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer briefly."}
FIRST = {"role": "user", "content": "What is the capital of France?"}
REPLY = {"role": "assistant", "content": "The capital of France is Paris."}
SECOND = {"role": "user", "content": 'And of Japan? Answer with <b>one</b> word & no "quotes".'}
UNICODE = {"role": "user", "content": "你好, Ça va ? Grüße 🙂 — “quotes” and emoji 👍🏽"}
THOUGHTFUL = {"role": "assistant", "content": "Paris.", "reasoning_content": "France: Paris."}

# (id, messages, add_generation_prompt, extra variables)
CONVERSATIONS: list[tuple[str, list[dict[str, Any]], bool, dict[str, Any]]] = [
    ("system-user-assistant-user", [SYSTEM, FIRST, REPLY, SECOND], True, {}),
    ("no-generation-prompt", [SYSTEM, FIRST, REPLY, SECOND], False, {}),
    ("unicode-user-only", [UNICODE], True, {}),
    ("no-system", [FIRST, REPLY, SECOND], True, {}),
    ("reasoning-field", [FIRST, THOUGHTFUL, SECOND], True, {}),
    ("tools", [SYSTEM, FIRST], True, {"tools": [WEATHER_TOOL]}),
]
SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>"}
# Templates that read a variable of their own (given to both renderers).
TEMPLATE_INPUTS = {
    "fireworks-ai-llama-3-firefunction-v2": {
        "functions": json.dumps([WEATHER_TOOL["function"]]),
        "datetime": "2026-11-23 09:00",
    },
}


def transformers_render(
    template: str, messages: list[dict[str, Any]], generation: bool, extra: dict[str, Any]
) -> str:
    rendered, _ = chat_template_utils.render_jinja_template(
        conversations=[messages],
        chat_template=template,
        add_generation_prompt=generation,
        **SPECIAL_TOKENS,
        **extra,
    )
    return str(rendered[0])


def compare(
    template: str, messages: list[dict[str, Any]], generation: bool, extra: dict[str, Any]
) -> str:
    """'equal' or 'both refused'; fails the test on any difference."""
    try:
        expected = transformers_render(template, messages, generation, extra)
    except Exception as error:
        with pytest.raises(TemplateError):
            render_chat(
                template, messages, add_generation_prompt=generation, extra=extra, **SPECIAL_TOKENS
            )
        return f"both refused ({type(error).__name__})"
    ours = render_chat(
        template, messages, add_generation_prompt=generation, extra=extra, **SPECIAL_TOKENS
    )
    assert ours == expected
    return "equal"


def test_all_real_templates_are_present() -> None:
    assert len(TEMPLATES) == 70


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_render_matches_transformers(path: Path) -> None:
    template = path.read_text(encoding="utf-8")
    inputs = TEMPLATE_INPUTS.get(path.stem, {})
    for _, messages, generation, extra in CONVERSATIONS:
        compare(template, messages, generation, {**inputs, **extra})


def test_most_templates_render_a_plain_conversation() -> None:
    """Guards the comparison above: refusing everywhere would also 'match'."""
    outcomes = [
        compare(
            p.read_text(encoding="utf-8"),
            [SYSTEM, FIRST, REPLY, SECOND],
            True,
            TEMPLATE_INPUTS.get(p.stem, {}),
        )
        for p in TEMPLATES
    ]
    assert outcomes.count("equal") >= 65
