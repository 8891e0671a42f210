"""Record what a real model writes with tools, as cases for tests/data/tool_calls/recorded.json.

    python tests/support/record_tool_calls.py gemma [--write]

The model answers through ChatDesk's engine host exactly as in a chat turn (its template;
for a template without tools, the tools in the system prompt and the tool grammar), with
tool choice auto, required and a named tool, temperature 0.8, fixed seeds. Each output is
printed with the calls it holds, read with plain ``json`` (never with ChatDesk's parsers, so
the expected calls do not come from the code under test): a grammar-held reply is the bare
call JSON, an ``auto`` call sits between ``<tool_call>\\n`` and ``\\n</tool_call>``. With
``--write`` the cases replace that model's earlier ones in recorded.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest, ToolChoice, ToolSpec
from chatdesk.engine.types import LoadOptions, SamplingSettings
from tests.engine.test_generic_tools import TOOLS
from tests.support.real_model import GEMMA_270M, starter_model

RECORDED = Path(__file__).parents[1] / "data" / "tool_calls" / "recorded.json"
MODELS = {"gemma": (GEMMA_270M, "gemma3-270m", "Gemma 3 270M Q4_K_M (base model)")}
RUNS = (  # (tool choice, named tool, parallel, seed, question, max tokens)
    ("required", None, False, 1, "What is the weather in Paris?", 96),
    ("required", None, False, 2, "What is 17 times 23?", 96),
    ("required", None, True, 3, "What is the weather in Oslo and in Rome?", 160),
    ("named", "calculator", False, 1, "What is 17 times 23?", 96),
    ("named", "get_weather", False, 4, "Is it raining in Lima?", 96),
    ("auto", None, False, 1, "What is the weather in Paris?", 64),
    ("auto", None, False, 5, "Say hello.", 48),
)


def expected_calls(output: str, mode: str) -> list[dict[str, Any]]:
    """The calls in a recorded output, read with plain json."""
    body = output
    if mode == "auto":
        if not output.startswith("<tool_call>\n"):
            return []
        body = output.removeprefix("<tool_call>\n").removesuffix("\n</tool_call>")
    value = json.loads(body)
    return [{"name": c["name"], "arguments": c["arguments"]}
            for c in (value if isinstance(value, list) else [value])]  # fmt: skip


def record(engine: EngineClient, run: tuple[Any, ...], slug: str, label: str) -> dict[str, Any]:
    mode, name, parallel, seed, question, tokens = run
    sampling = SamplingSettings(temperature=0.8, seed=seed, max_tokens=tokens)
    request = ChatRequest.of(
        [{"role": "user", "content": question}], sampling=sampling,
        tools=tuple(ToolSpec.from_openai(t) for t in TOOLS),
        tool_choice=ToolChoice(mode, name), parallel_tool_calls=parallel,
    )  # fmt: skip
    stream = engine.generate(request)
    finish = stream.wait(timeout=600).finish_reason
    output = stream.text
    calls = expected_calls(output, mode)
    day = datetime.datetime.now(datetime.UTC).date().isoformat()
    choice = (
        f"tool_choice {mode}" + (f" {name}" if name else "") + (" parallel" if parallel else "")
    )
    return {
        "id": f"{slug}-{mode}{'-' + name if name else ''}{'-parallel' if parallel else ''}-{seed}",
        "source": f"{label}, recorded here on {day} through ChatDesk's engine host: tools in "
        f"the system prompt (Hermes form), reply held by the tool grammar, temperature 0.8, "
        f"{choice}, seed {seed}, max_tokens {tokens}, question {question!r}; "
        f"finish {finish}; expected calls read with plain json",
        "output": output,
        "content": "" if calls else output.strip(),
        "calls": calls,
        "reasoning": "",
        "thinking_open": False,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    model, slug, label = MODELS[args.model]
    path, why = starter_model(model)
    if path is None:
        raise SystemExit(why)
    engine = EngineClient()
    engine.load(LoadOptions(path, n_ctx=2048, n_threads=2)).result(timeout=300)
    try:
        info = engine.model_info
        print("tool format:", info.tool_format if info else "?")
        cases = [record(engine, run, slug, label) for run in RUNS]
    finally:
        engine.close()
    for case in cases:
        print(json.dumps(case, ensure_ascii=False, indent=1))
    if args.write:
        data = json.loads(RECORDED.read_text(encoding="utf-8"))
        data["cases"] = [c for c in data["cases"] if not c["id"].startswith(slug)] + cases
        RECORDED.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
