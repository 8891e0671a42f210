"""render_chat(..., tools=...) returns exactly what transformers' apply_chat_template returns
for tool conversations, on every real template in tests/data/templates.

The reference is the real ``PreTrainedTokenizerFast.apply_chat_template`` (a tokenizer with
only <s> and </s>, so its special-token variables are the two render_chat is given), with its
own message preparation: None-valued keys dropped, reasoning aliased, tools as schemas.
Where transformers refuses a conversation, render_chat must refuse it too.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from chatdesk.engine.templates import TemplateError, render_chat
from tests.engine.test_templates_transformers import TEMPLATES

tokenization = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

BOS, EOS = "<s>", "</s>"

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {
                    "type": "object",
                    "description": "Where",
                    "properties": {
                        "city": {"type": "string", "description": "City, e.g. Zürich"},
                        "country": {"type": "string", "enum": ["CH", "FR", "JP"]},
                    },
                    "required": ["city"],
                },
                "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "fields": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["location"],
        },
    },
}
PYTHON = {
    "type": "function",
    "function": {
        "name": "python",
        "description": "Run Python code and return what it prints",
        "parameters": {
            "type": "object",
            "properties": {"code": {"type": "string", "description": "The program"}},
            "required": ["code"],
        },
    },
}
TOOLS = [WEATHER, PYTHON]
PARIS_ARGS = {"location": {"city": "Paris", "country": "FR"}, "units": "celsius"}
TOKYO_ARGS = {"location": {"city": "Tokyo"}, "fields": ["wind", "rain"]}


def call(call_id: str, name: str, arguments: dict[str, Any], as_string: bool) -> dict[str, Any]:
    args: Any = json.dumps(arguments) if as_string else arguments
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def calling(*calls: dict[str, Any], content: str | None = None) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": list(calls)}


def result(call_id: str, name: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": content}


SYSTEM = {"role": "system", "content": "You are a helpful assistant with tools."}
ASK = {"role": "user", "content": "Weather in Paris and Tokyo? Then compute 2**10."}
PARIS = call("call_1", "get_weather", PARIS_ARGS, False)
PARIS_STR = call("call_1", "get_weather", PARIS_ARGS, True)
TOKYO = call("call_2", "get_weather", TOKYO_ARGS, False)
CODE = call("call_3", "python", {"code": "print(2**10)"}, False)
PARIS_OUT = result("call_1", "get_weather", '{"temp": 18, "sky": "clear"}')
TOKYO_OUT = result("call_2", "get_weather", '{"temp": 25, "sky": "rain"}')
CODE_OUT = result("call_3", "python", "1024")
ANSWER = {"role": "assistant", "content": "Paris 18 °C, Tokyo 25 °C; 2**10 = 1024."}

CONVERSATIONS: dict[str, list[dict[str, Any]]] = {
    "tools-offered": [SYSTEM, ASK],
    "tools-offered-no-system": [ASK],
    "single-call-dict-args": [SYSTEM, ASK, calling(PARIS), PARIS_OUT],
    "single-call-json-string-args": [SYSTEM, ASK, calling(PARIS_STR), PARIS_OUT],
    "call-with-text": [ASK, calling(PARIS, content="Let me look."), PARIS_OUT],
    "parallel-calls": [SYSTEM, ASK, calling(PARIS, TOKYO), PARIS_OUT, TOKYO_OUT],
    "multi-step-loop": [
        SYSTEM,
        ASK,
        calling(PARIS, TOKYO),
        PARIS_OUT,
        TOKYO_OUT,
        calling(CODE),
        CODE_OUT,
        ANSWER,
        {"role": "user", "content": "Thanks!"},
    ],
    # As ChatDesk sends history: content "" beside calls, ids of 9 letters/digits (Mistral)
    "as-chatdesk-sends-it": [
        SYSTEM,
        ASK,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{**PARIS, "id": "a1B2c3D4e"}, {**TOKYO, "id": "f5G6h7I8j"}],
        },
        {**PARIS_OUT, "tool_call_id": "a1B2c3D4e"},
        {**TOKYO_OUT, "tool_call_id": "f5G6h7I8j"},
    ],
    "none-valued-keys": [
        {**ASK, "name": None},
        {**calling(PARIS), "reasoning_content": None, "reasoning": "Look it up."},
        PARIS_OUT,
    ],
}


def reference_tokenizer() -> Any:
    model = tokenizers.models.WordLevel({BOS: 0, EOS: 1}, unk_token=None)
    return tokenization.PreTrainedTokenizerFast(
        tokenizer_object=tokenizers.Tokenizer(model), bos_token=BOS, eos_token=EOS
    )


def outcome(reference: Any, template: str, messages: list[dict[str, Any]]) -> str:
    """'identical', 'refused by both' or 'different: ...' for one template and conversation."""
    try:
        expected = reference.apply_chat_template(
            messages,
            tools=TOOLS,
            chat_template=template,
            tokenize=False,
            add_generation_prompt=messages[-1]["role"] != "assistant",
        )
    except Exception:
        expected = None
    try:
        ours: str | None = render_chat(
            template,
            messages,
            tools=TOOLS,
            bos_token=BOS,
            eos_token=EOS,
            add_generation_prompt=messages[-1]["role"] != "assistant",
        )
    except TemplateError:
        ours = None
    if ours == expected:
        return "identical" if ours is not None else "refused by both"
    return "different: " + ("only ChatDesk refused" if ours is None else "text differs")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_tool_conversations_match_transformers(path: Path) -> None:
    template = path.read_text(encoding="utf-8")
    reference = reference_tokenizer()
    results = {name: outcome(reference, template, m) for name, m in CONVERSATIONS.items()}
    different = {name: r for name, r in results.items() if r.startswith("different")}
    assert not different


def test_tools_reach_the_template_and_calls_render() -> None:
    """Not vacuous: a tool-aware template shows the schema and the call's arguments."""
    template = next(p for p in TEMPLATES if "Qwen2.5" in p.stem or "Qwen3" in p.stem)
    text = render_chat(template.read_text(), CONVERSATIONS["parallel-calls"], tools=TOOLS)
    assert '"name": "get_weather"' in text
    assert "Zürich" in text
    assert text.count("<tool_call>") >= 2
    assert '"city": "Tokyo"' in text


def tally() -> Counter[str]:
    """Counts over all templates and conversations (printed by ``python -m`` for reports)."""
    reference = reference_tokenizer()
    counts: Counter[str] = Counter()
    for path in TEMPLATES:
        for messages in CONVERSATIONS.values():
            counts[outcome(reference, path.read_text(encoding="utf-8"), messages)] += 1
    return counts


if __name__ == "__main__":
    print(dict(tally()))
