"""Tools reach the model's chat template through the real engine host."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import ContextFitted, LoadOptions, SamplingSettings
from tests.support.chat_requests import chat

pytest.importorskip("llama_cpp")
QWEN = Path(__file__).parent.parent / "data" / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"
TOOL = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Exact arithmetic on an expression, e.g. 2**64 / 3",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    },
}
HISTORY = [
    {"role": "user", "content": "What is 2**64?"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "a1B2c3D4e", "type": "function",
     "function": {"name": "calculator", "arguments": {"expression": "2**64"}}}]},
    {"role": "tool", "tool_call_id": "a1B2c3D4e", "content": "18446744073709551616"},
]  # fmt: skip


def prompt_tokens(client: EngineClient, tools: list[dict[str, object]] | None) -> int:
    stream = client.generate(
        chat(
            HISTORY, system_prompt="", sampling=SamplingSettings(max_tokens=1, seed=1), tools=tools
        )
    )
    fitted = next(e for e in stream if isinstance(e, ContextFitted))
    stream.wait(timeout=60)
    return fitted.prompt_tokens


def test_tools_and_tool_messages_are_in_the_prompt(
    fresh_engine: EngineClient, tiny_model_path: Path
) -> None:
    options = LoadOptions(tiny_model_path, n_ctx=2048, chat_template=QWEN.read_text())
    fresh_engine.load(options).result(timeout=60)
    without, with_tools = prompt_tokens(fresh_engine, None), prompt_tokens(fresh_engine, [TOOL])
    assert with_tools > without + 20  # the template lists the tool's schema


def test_show_prompt_renders_the_tools_and_the_tool_turn(
    fresh_engine: EngineClient, tiny_model_path: Path
) -> None:
    options = LoadOptions(tiny_model_path, n_ctx=2048, chat_template=QWEN.read_text())
    fresh_engine.load(options).result(timeout=60)
    rendered = fresh_engine.render(chat(HISTORY, system_prompt="", tools=[TOOL])).result(timeout=60)
    text, tokens = rendered.text, rendered.tokens
    assert '"name": "calculator"' in text
    assert "<tools>" in text
    assert '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2**64"}}' in text
    assert "<tool_response>\n18446744073709551616\n</tool_response>" in text
    assert tokens > 50


class LoadedEngine:
    """The turn service's view of an engine with a model loaded (the test's own client)."""

    def __init__(self, client: EngineClient) -> None:
        self.engine, self.ready, self.model_path = client, True, "tiny"
        self.warmer = client

    def identity(self) -> dict[str, object]:
        return {}

    def host_died(self, error: BaseException) -> None:
        raise AssertionError(error)

    def recommended_sampling(self) -> dict[str, float | int]:
        return {}


def test_a_turn_with_tools_runs_against_the_real_engine_host(
    fresh_engine: EngineClient, tiny_model_path: Path, tmp_path: Path
) -> None:
    """The tiny model writes no tool call: one step, its text kept, nothing run."""
    from chatdesk.services.events import EventQueue
    from chatdesk.services.settings import SettingsService
    from chatdesk.services.tool_turns import ToolTurns, tool_state
    from chatdesk.services.tools import ToolsService
    from chatdesk.services.turns import TurnService
    from chatdesk.store import Store

    options = LoadOptions(tiny_model_path, n_ctx=2048, chat_template=QWEN.read_text())
    fresh_engine.load(options).result(timeout=60)
    with Store(tmp_path / "chatdesk.db") as store:
        events = EventQueue()
        turns = TurnService(store, LoadedEngine(fresh_engine), SettingsService(store), events)
        ToolTurns(turns, ToolsService(store, tmp_path / "mcp.json"), approved_by="test").install()
        cid = turns.new_conversation(settings={"max_tokens": 12, "seed": 3}).id
        turn = turns.send(cid, "What is 2**64?", extras={"tools": ["calculator"]})
        assert events.run_until(lambda: not turns.streaming, timeout=60)
        assert turn.status == "complete"
        assert tool_state(turn) is not None
        assert [m.role for m in store.active_path(cid)] == ["user", "assistant"]
        assert store.tool_audit() == []
