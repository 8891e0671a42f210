"""Tool calls read from model output in each family's format, streamed in small pieces.

The outputs are written as the models write them (the shapes llama.cpp's chat parsers
accept). Each is fed to ``ToolCallStream`` three characters at a time, as an engine
streams: the call must never appear in the text shown while streaming, and ``finish``
must give the calls with their arguments and the text around them.
"""

from __future__ import annotations

from typing import Any

import pytest

from chatdesk.tools.formats import detect_formats
from chatdesk.tools.readers import deepseek_token
from chatdesk.tools.streaming import ToolCallStream, parse_reply

PARIS = {"city": "Paris"}
CB, B, S = (
    deepseek_token("tool_calls_begin"),
    deepseek_token("tool_call_begin"),
    deepseek_token("tool_sep"),
)
E, CE = deepseek_token("tool_call_end"), deepseek_token("tool_calls_end")
# (id, model output, text the user sees, [(name, arguments)])
RECORDED: list[tuple[str, str, str, list[tuple[str, dict[str, Any]]]]] = [
    (
        "hermes-qwen",
        'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": '
        '{"city": "Paris"}}\n</tool_call>',
        "Let me check.",
        [("get_weather", PARIS)],
    ),
    (
        "hermes-parallel",
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
        '</tool_call>\n<tool_call>\n{"name": "python", "arguments": {"code": "print(1)"}}\n'
        "</tool_call>",
        "",
        [("get_weather", PARIS), ("python", {"code": "print(1)"})],
    ),
    (
        "qwen3-coder-xml",
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n"
        "</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
        "",
        [("get_weather", {"city": "Paris", "days": 3})],
    ),
    (
        "llama3-json",
        '{"name": "get_weather", "parameters": {"city": "Paris"}}',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "llama3-json-typed",
        '{"type": "function", "name": "get_weather", "parameters": {"city": "Paris"}}',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "llama3-python-tag-builtin",
        '<|python_tag|>brave_search.call(query="Paris weather")',
        "",
        [("brave_search", {"query": "Paris weather"})],
    ),
    (
        "llama3-python-tag-json",
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}<|eom_id|>',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "llama3-python-tag-code",
        "<|python_tag|>print(2 ** 10)",
        "",
        [("python", {"code": "print(2 ** 10)"})],
    ),
    (
        "mistral-nemo",
        '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "a1B2c3D4e"}]',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "mistral-magistral",
        '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "phi4-mini",
        '<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|/tool_call|>',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "granite-3",
        '<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "gpt-oss",
        "<|channel|>commentary to=functions.get_weather <|constrain|>json"
        '<|message|>{"city":"Paris"}<|call|>',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "gpt-oss-after-analysis",
        "<|start|>assistant<|channel|>commentary "
        'to=functions.get_weather <|constrain|>json<|message|>{"city":"Paris"}<|call|>',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "command-r7b",
        '<|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "get_weather", '
        '"parameters": {"city": "Paris"}}\n]<|END_ACTION|>',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "command-r-plus",
        'Action: ```json\n[\n    {\n        "tool_name": "get_weather",\n'
        '        "parameters": {"city": "Paris"}\n    }\n]\n```',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "deepseek-r1",
        f"I need the weather.{CB}{B}function{S}get_weather\n```json\n"
        f'{{"city": "Paris"}}\n```{E}{CE}',
        "I need the weather.",
        [("get_weather", PARIS)],
    ),
    (
        "deepseek-v3.1",
        f'{CB}{B}get_weather{S}{{"city": "Paris"}}{E}{CE}',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "generic-fenced-json",
        '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
        "",
        [("get_weather", PARIS)],
    ),
    (
        "generic-openai-shape",
        '{"function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}',
        "",
        [("get_weather", PARIS)],
    ),
]


def stream(text: str, formats: list[str] | None = None) -> tuple[str, Any]:
    parser = ToolCallStream(formats)
    shown = "".join(parser.feed(text[i : i + 3]) for i in range(0, len(text), 3))
    return shown, parser.finish()


@pytest.mark.parametrize(
    ("output", "text", "calls"), [r[1:] for r in RECORDED], ids=[r[0] for r in RECORDED]
)
def test_recorded_output_gives_its_calls(output: str, text: str, calls: list[Any]) -> None:
    shown, reply = stream(output)
    assert [(c.name, c.arguments) for c in reply.calls] == calls
    assert all(c.error is None and len(c.id) >= 1 for c in reply.calls)
    assert reply.content == text
    assert shown.strip() == text  # nothing of the call was ever shown


@pytest.mark.parametrize(
    "output",
    [
        "The answer is 42.",
        'Here is JSON: {"name": "x"} inline.',
        '{"answer": 42, "unit": "m"}',
        "[1, 2, 3]",
        "```python\nprint('hi')\n```",
        "Use <b>bold</b> and a < b > c.",
    ],
)
def test_plain_replies_stream_unchanged(output: str) -> None:
    shown, reply = stream(output)
    assert reply.calls == []
    assert reply.content == output
    assert shown + reply.tail in (output, output.rstrip())


def test_text_streams_before_the_call_starts() -> None:
    parser = ToolCallStream(["hermes"])
    assert parser.feed("Checking the weather ") == "Checking the weather "
    assert parser.feed("now <tool") == "now "  # could be a marker: held back
    assert parser.feed('_call>{"name": "get') == ""
    assert parser.in_call


def test_malformed_call_is_reported_not_shown() -> None:
    output = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Par\n</tool_call>'
    shown, reply = stream(output)
    assert shown == ""
    [call] = reply.calls
    assert call.name == "get_weather"
    assert call.error
    assert "JSON" in call.error


def test_arguments_that_are_not_an_object_are_an_error() -> None:
    [call] = parse_reply('<tool_call>{"name": "f", "arguments": [1, 2]}</tool_call>').calls
    assert call.error == "the arguments must be a JSON object, not list"


def test_template_decides_the_first_format() -> None:
    assert detect_formats("{{ '<|python_tag|>' }}")[0] == "llama3"
    assert detect_formats("<tool_call>")[0] == "hermes"
    assert set(detect_formats(None)) == set(detect_formats("<tool_call>"))


def test_undecided_json_start_is_released_as_text() -> None:
    _shown, reply = stream("{" + " " * 500 + "}")
    assert reply.calls == []
    assert reply.content == "{" + " " * 500 + "}"
