"""Tools with the starter model (SmolLM2-135M), whose chat template has no tools: the
generic format. The host detects it at load (``ModelInfo.tool_format``); the tools are
described in the system message and the reply is held by a grammar.

With tool choice ``required`` every reply must be a well-formed call of an offered tool
with arguments that follow its schema, also when ``max_tokens`` is small (the grammar
bounds the call by the token budget): measured over ``RUNS`` sampled replies (temperature
0.8, a different seed each, one call per reply) at two budgets, all must pass
(``bench_tool_parsers.py`` measures 20 seeds). A named tool is always that
tool; ``auto`` gives a call or a plain reply, both read correctly; ``none`` offers nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest, ToolChoice, ToolSpec
from chatdesk.engine.types import (
    EngineError,
    LoadOptions,
    ReplyDone,
    SamplingSettings,
    TextDelta,
)
from chatdesk.tools.formats import reply_format
from chatdesk.tools.streaming import ParsedReply, ToolCallStream

pytestmark = pytest.mark.slow
RUNS = 6  # each reply costs seconds on a shared CPU; the benchmark measures more
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"], "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "calculator", "description": "Exact arithmetic on an expression",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                       "required": ["expression"], "additionalProperties": False}}},
]  # fmt: skip
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
SPECS = tuple(ToolSpec.from_openai(t) for t in TOOLS)


def ask(
    choice: ToolChoice, parallel: bool = False, seed: int = 0, tokens: int = 128
) -> ChatRequest:
    sampling = SamplingSettings(temperature=0.8, seed=seed, max_tokens=tokens)
    return ChatRequest.of(
        [{"role": "user", "content": "What is the weather in Paris?"}], sampling=sampling,
        tools=SPECS, tool_choice=choice, parallel_tool_calls=parallel,
    )  # fmt: skip


def reply(engine: EngineClient, request: ChatRequest) -> ParsedReply:
    """The reply read as the window and the API read it (the generic prompt: Hermes rules)."""
    return reply_and_finish(engine, request)[0]


def reply_and_finish(engine: EngineClient, request: ChatRequest) -> tuple[ParsedReply, str]:
    """The reply read as the window and the API read it, and why it ended."""
    parser = ToolCallStream(reply_format("generic", request.tool_choice.mode))
    finish = ""
    for event in engine.generate(request):
        if isinstance(event, TextDelta):
            parser.feed(event.text)
        elif isinstance(event, ReplyDone):
            finish = event.stats.finish_reason
            break
    return parser.finish(), finish


def well_formed(parsed: ParsedReply, only: str | None = None) -> bool:
    if not parsed.calls or parsed.content:
        return False
    for call in parsed.calls:
        if call.error or call.name not in SCHEMAS or (only and call.name != only):
            return False
        jsonschema.validate(call.arguments, SCHEMAS[call.name])
    return True


def test_the_starter_model_is_detected_as_generic(starter_engine: EngineClient) -> None:
    assert starter_engine.model_info is not None
    assert starter_engine.model_info.tool_format == "generic"


@pytest.mark.parametrize("tokens", [72, 128])
def test_required_calls_are_always_well_formed(starter_engine: EngineClient, tokens: int) -> None:
    """The grammar bounds the call's length by the token budget (every token is at least
    one byte), so no reply is cut off by max_tokens, even a small one: every reply is a
    well-formed call whose arguments validate against its tool's schema."""
    for seed in range(RUNS):
        request = ask(ToolChoice("required"), seed=seed, tokens=tokens)
        parsed, finish = reply_and_finish(starter_engine, request)
        assert finish == "stop", (seed, parsed)
        assert well_formed(parsed), (seed, parsed)


def test_parallel_required_calls_fit_the_budget_too(starter_engine: EngineClient) -> None:
    for seed in range(2):
        request = ask(ToolChoice("required"), parallel=True, seed=seed, tokens=96)
        parsed, finish = reply_and_finish(starter_engine, request)
        assert finish == "stop", (seed, parsed)
        assert well_formed(parsed), (seed, parsed)


def test_a_budget_too_small_for_any_call_is_a_clear_error(starter_engine: EngineClient) -> None:
    stream = starter_engine.generate(ask(ToolChoice("required"), tokens=16))
    with pytest.raises(EngineError) as refused:
        stream.wait(timeout=120)
    assert refused.value.code == "bad_request"
    assert "'max_tokens'" in refused.value.message
    assert "the reply may need" in refused.value.message
    assert stream.text == ""


def test_a_named_tool_is_the_one_called(starter_engine: EngineClient) -> None:
    for seed in range(2):
        parsed = reply(starter_engine, ask(ToolChoice("named", "calculator"), seed=seed))
        assert well_formed(parsed, only="calculator")
        assert len(parsed.calls) == 1


def test_auto_gives_a_call_or_a_plain_reply(starter_engine: EngineClient) -> None:
    for seed in range(2):
        parsed = reply(starter_engine, ask(ToolChoice("auto"), seed=seed, tokens=64))
        assert well_formed(parsed) or (parsed.content and not parsed.calls)
        assert "<tool_call>" not in parsed.content


def test_the_prompt_describes_the_tools(starter_engine: EngineClient) -> None:
    rendered = starter_engine.render(ask(ToolChoice("auto"))).result(timeout=60)
    assert "get_weather" in rendered.text
    assert "<tool_call>" in rendered.text
    assert "get_weather" not in starter_engine.render(ask(ToolChoice("none"))).result(60).text


@pytest.fixture(scope="module")
def gemma_engine(gemma_model_path: Path) -> Iterator[EngineClient]:
    from tests.engine.conftest import loaded_engine

    yield from loaded_engine(gemma_model_path, 2)


def test_gemma_uses_the_generic_format_and_its_required_calls_are_well_formed(
    gemma_engine: EngineClient,
) -> None:
    """A second real model of another template family (Gemma 3 270M, no tools in its
    template): the same guarantee, at a small budget."""
    assert gemma_engine.model_info is not None
    assert gemma_engine.model_info.tool_format == "generic"
    for seed in range(2):
        parsed, finish = reply_and_finish(gemma_engine, ask(ToolChoice("required"), seed=seed))
        assert finish == "stop", (seed, parsed)
        assert well_formed(parsed), (seed, parsed)


QWEN = Path(__file__).parent.parent / "data" / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"


@pytest.fixture(scope="module")
def qwen_templated(starter_model_path: Path) -> Iterator[EngineClient]:
    """The starter model under Qwen 2.5's chat template: native tools, Hermes family."""
    pytest.importorskip("llama_cpp")
    client = EngineClient()
    options = LoadOptions(starter_model_path, n_ctx=2048, n_threads=2,
                          chat_template=QWEN.read_text())  # fmt: skip
    client.load(options).result(timeout=120)
    yield client
    client.close()


@pytest.mark.parametrize(("choice", "parallel"), [(ToolChoice("required"), False),
                         (ToolChoice("named", "get_weather"), False),
                         (ToolChoice("required"), True)])  # fmt: skip
def test_a_native_hermes_template_gets_required_calls_in_its_own_markers(
    qwen_templated: EngineClient, choice: ToolChoice, parallel: bool
) -> None:
    """``required``/named with a Hermes/Qwen template: each call inside ``<tool_call>``
    blocks, as the model was trained to write it, read back as calls (nothing shown)."""
    assert qwen_templated.model_info is not None
    assert qwen_templated.model_info.tool_format == "hermes"
    request = ask(choice, parallel=parallel, seed=1, tokens=160)
    stream = qwen_templated.generate(request)
    stream.wait(timeout=300)
    assert stream.text.startswith("<tool_call>\n{")
    assert stream.text.endswith("}\n</tool_call>")
    parser = ToolCallStream(reply_format("hermes", choice.mode))
    parser.feed(stream.text)
    parsed = parser.finish()
    assert well_formed(parsed, only=choice.name), parsed
    assert len(parsed.calls) == stream.text.count("<tool_call>")
