"""Show prompt is what the engine received: one request value, built by the same code.

The scripted engine keeps the ``ChatRequest`` each reply was sent, so the value Show prompt
renders can be compared with it field by field; on the real starter model the rendered
prompt holds the passages, the few-shot example and the tool definitions, and its token
count is the one the reply's context meter shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatdesk.services.app_services import AppServices
from chatdesk.services.events import EventQueue
from chatdesk.services.tool_turns import ALL_TOOLS
from tests.support.scripted_engine import ScriptedEngine

EXAMPLE = {"user": "Say hello.", "assistant": "Hello there, dear friend!"}
FACT = "The night ferry to Zanzibar leaves from pier 4 at seven."
QUESTION = "When does the night ferry to Zanzibar leave?"
CALC = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "6*7"}}\n</tool_call>'


def with_everything(app: AppServices, tmp_path: Path, settings: dict[str, object]) -> str:
    """A conversation with a few-shot example and an attached collection."""
    (tmp_path / "ferries.md").write_text(f"# Ferries\n\n{FACT}\n", encoding="utf-8")
    app.documents.add([tmp_path / "ferries.md"], "Ferries")
    app.documents.index_collection("Ferries")
    cid = app.turns.new_conversation("Answer briefly.", settings).id  # type: ignore[arg-type]
    app.probabilities.set_examples(cid, [EXAMPLE])
    app.document_turns.attach(cid, ["Ferries"])
    return cid


def test_the_request_shown_is_the_request_sent_step_by_step(
    services: AppServices, events: EventQueue, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    scripted_engine.replies = ["Let me see. " + CALC, "At seven [1]."]
    services.tool_turns.approved_by = "test"
    services.probabilities.set_alternatives(3)
    cid = with_everything(services, tmp_path, {})
    options = {"tools": ALL_TOOLS}
    services.turns.send(cid, QUESTION, options)
    assert events.run_until(lambda: not services.turns.streaming, timeout=30)
    first, last = (r["request"] for r in scripted_engine.requests[-2:])
    path = services.chat.messages(cid)
    assert [m.role for m in path] == ["user", "assistant", "tool", "assistant"]
    shown = services.turns.prompt_request(cid, path, services.chat.turn_options(path, options))
    assert shown == last  # the value itself: messages, examples, tools, logprobs, sampling
    assert last.examples
    assert last.tools
    assert last.logprobs == 3
    question = last.messages[len(last.examples)].text
    assert "pier 4" in question  # the tool step still has the passages of its question
    assert question == first.messages[len(first.examples)].text
    future = services.chat.render_prompt(cid, options)
    assert events.run_until(future.done, timeout=10)
    text, _tokens = future.result()
    assert all(part in text for part in (EXAMPLE["assistant"], "pier 4", "<tool>calculator"))


@pytest.mark.slow
def test_show_prompt_on_the_real_model_counts_what_the_meter_counts(
    real_services: tuple[AppServices, EventQueue], tmp_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    app, events = real_services
    cid = with_everything(app, tmp_path, {"temperature": 0.0, "max_tokens": 6})
    options = {"tools": ["calculator"]}
    turn = app.turns.send(cid, QUESTION, options)
    assert events.run_until(lambda: not app.turns.streaming, timeout=120)
    reply = app.chat.messages(cid)[-1]
    assert reply.role == "assistant"
    assert turn.finished
    future = app.chat.render_prompt(cid, options)
    assert events.run_until(future.done, timeout=60)
    text, tokens = future.result()
    assert EXAMPLE["assistant"] in text  # the few-shot example
    assert "pier 4" in text  # the passage
    assert "calculator" in text  # the tool definition
    assert tokens == reply.prompt_tokens  # what the context meter under the reply says
