"""Tool-call parsing and function calling: the corpus pass table, the parser's cost per
streamed token against the model's decode time, and the API round trip against in-process.

    python tests/benchmarks/bench_tool_parsers.py [--tokens 200] [--repeats 7] [--api-runs 3]

1. Corpus (tests/data/tool_calls): per family, cases passed read whole and streamed (one
   character at a time and three random chunkings), with the family's own format and with
   the all-formats fallback.
2. Parser cost: the real starter model writes a reply (greedy, ``--tokens`` tokens, end of
   generation suppressed); its streamed pieces are fed again through ``ToolCallStream``
   with every format watched (the costliest reader). Cost per token against the decode
   time per token measured in the same run. Target: under 1%. Also the worst case: a long
   Hermes call streamed one token (four characters) at a time.
3. API round trip: a ``tool_choice="required"`` call through the official ``openai``
   client and ChatDesk's API server (in this process, over HTTP) against the same request
   made in-process (the tool plan, the engine, the reply reader), same seed; ratio of the
   medians.
4. ``required`` always well-formed: the starter model answers with tool choice
   ``required`` (the two tools of tests/engine/test_generic_tools.py, temperature 0.8,
   ``--required-tokens`` max tokens), one reply per seed over ``--seeds`` seeds: how many
   are a well-formed call whose arguments validate against the tool's schema, and how many
   were cut off by the token limit.

The last line printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import openai

from chatdesk.api.app import ApiConfig, create_app
from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.server import ApiServer
from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest, ResponseFormat, ToolChoice, ToolSpec
from chatdesk.engine.types import LoadOptions, ReplyDone, SamplingSettings, TextDelta
from chatdesk.tools.formats import all_formats, reply_format
from chatdesk.tools.generic import call_schema, calls_schema
from chatdesk.tools.streaming import ToolCallStream
from tests.engine.test_generic_tools import TOOLS, ask, reply_and_finish, well_formed
from tests.support.openai_servers import free_port
from tests.support.real_model import starter_model
from tests.tools.test_corpus import CASES, chunkings, problems, read

TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": False}}}  # fmt: skip
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def corpus_table() -> dict[str, dict[str, list[int]]]:
    """family -> {"own"/"all": [cases, passed whole, passed streamed]}."""
    table: dict[str, dict[str, list[int]]] = {}
    for family, case in CASES:
        for mode, fmt in (("own", family), ("all", None)):
            row = table.setdefault(family, {}).setdefault(mode, [0, 0, 0])
            row[0] += 1
            ways = chunkings(case["output"], case["id"])
            whole = not problems(case, *read(case, fmt, ways.pop("whole")))
            streamed = all(not problems(case, *read(case, fmt, c)) for c in ways.values())
            row[1] += whole
            row[2] += streamed
    return table


def recorded_reply(engine: EngineClient, tokens: int) -> tuple[list[str], float]:
    """A reply's streamed pieces and its decode seconds per token."""
    sampling = SamplingSettings(temperature=0.0, max_tokens=tokens, ignore_eos=True, seed=1)
    pieces: list[str] = []
    stats = None
    request = ChatRequest.of(
        [{"role": "user", "content": "Tell me about Paris."}], sampling=sampling
    )
    for event in engine.generate(request):
        if isinstance(event, TextDelta):
            pieces.append(event.text)
        elif isinstance(event, ReplyDone):
            stats = event.stats
    assert stats is not None
    assert stats.generated_tokens
    return pieces, stats.decode_seconds / stats.generated_tokens


def parse_seconds(pieces: list[str], repeats: int) -> float:
    """Best time to feed ``pieces`` through a reader watching every format."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        stream = ToolCallStream(all_formats())
        for piece in pieces:
            stream.feed(piece)
        stream.finish()
        best = min(best, time.perf_counter() - started)
    return best


def worst_case_pieces() -> list[str]:
    """A long Hermes call (about 2,000 characters of arguments), four characters a token."""
    code = "print('hello')\\n" * 130
    call = json.dumps({"name": "python", "arguments": {"code": code}})
    text = f"Let me run it.\n<tool_call>\n{call}\n</tool_call>"
    return [text[i : i + 4] for i in range(0, len(text), 4)]


def in_process_call(engine: EngineClient, seed: int) -> float:
    """The same call without HTTP: the request, the engine, the reply reader."""
    sampling = SamplingSettings(temperature=0.0, max_tokens=64, seed=seed)
    request = ChatRequest.of(
        ASK, sampling=sampling, tools=(ToolSpec.from_openai(TOOL),),
        tool_choice=ToolChoice("required"), parallel_tool_calls=False,
    )  # fmt: skip
    started = time.perf_counter()
    reader = ToolCallStream(reply_format("generic", "required"))
    for event in engine.generate(request):
        if isinstance(event, TextDelta):
            reader.feed(event.text)
        elif isinstance(event, ReplyDone):
            break
    assert reader.finish().calls
    return time.perf_counter() - started


def required_rate(
    engine: EngineClient, seeds: int, tokens: int, unbounded: bool = False
) -> dict[str, Any]:
    """Well-formed ``required`` replies over ``seeds`` seeded replies (temperature 0.8).
    ``unbounded``: the reference, the same call schema without the token bound (sent as a
    ``json_schema`` response format, which compiles exactly the grammar used before)."""
    good, cut, failures = 0, 0, []
    for seed in range(100, 100 + seeds):
        request = ask(ToolChoice("required"), seed=seed, tokens=tokens)
        if unbounded:
            schema = calls_schema(call_schema(TOOLS), False)
            request = dataclasses.replace(request, response_format=ResponseFormat(
                "json_schema", schema))  # fmt: skip
        parsed, finish = reply_and_finish(engine, request)
        cut += finish == "length"
        try:
            ok = well_formed(parsed)
        except Exception as error:  # jsonschema's ValidationError: a failure to count
            ok, parsed = False, f"{parsed} ({error})"  # type: ignore[assignment]
        good += ok
        if not ok:
            failures.append(f"seed {seed}: {finish}: {parsed}")
    return {"seeds": seeds, "max_tokens": tokens, "well_formed": good, "cut_off": cut,
            "failures": failures}  # fmt: skip


def required_figures(engine: EngineClient, seeds: int, small: int) -> list[dict[str, Any]]:
    """Figure 4 at ``small`` and 128 max tokens, each against the unbounded reference."""
    rates = []
    for tokens in sorted({small, 128}):
        for unbounded in (False, True):
            rate = required_rate(engine, seeds, tokens, unbounded) | {"unbounded": unbounded}
            rates.append(rate)
            what = "reference, grammar without the bound" if unbounded else "bounded grammar"
            print(f"required, max_tokens {tokens} ({what}): {rate['well_formed']}/{seeds}"
                  f" well-formed calls, {rate['cut_off']} cut off by the token limit")  # fmt: skip
            for failure in rate["failures"]:
                print("  ", failure)
    return rates


def api_call(client: openai.OpenAI, seed: int) -> float:
    started = time.perf_counter()
    answer = client.chat.completions.create(
        model="smollm2", messages=ASK, tools=[TOOL], tool_choice="required",
        temperature=0.0, max_tokens=64, seed=seed, parallel_tool_calls=False,
    )  # type: ignore[call-overload]  # fmt: skip
    assert answer.choices[0].message.tool_calls
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--api-runs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--required-tokens", type=int, default=96)
    parser.add_argument("--only-required", action="store_true", help="just figure 4")
    args = parser.parse_args()
    figures: dict[str, Any] = {"corpus": corpus_table()}
    print("family      format  cases  whole  streamed")
    for family, modes in figures["corpus"].items():
        for mode, (cases, whole, streamed) in modes.items():
            print(f"{family:11} {mode:6} {cases:5}  {whole:5}  {streamed:8}")
    path, why = starter_model()
    if path is None:
        print(f"no starter model ({why}): parser cost and API figures skipped")
        print(json.dumps(figures))
        return
    engine = EngineClient()
    engine.load(LoadOptions(path, n_ctx=2048, n_threads=1)).result(timeout=300)
    try:
        figures["required"] = required_figures(engine, args.seeds, args.required_tokens)
        if args.only_required:
            return
        pieces, decode_per_token = recorded_reply(engine, args.tokens)
        per_token = parse_seconds(pieces, args.repeats) / len(pieces)
        worst = worst_case_pieces()
        worst_per_token = parse_seconds(worst, args.repeats) / len(worst)
        figures["parser"] = {
            "tokens": len(pieces), "decode_ms_per_token": decode_per_token * 1000,
            "parse_us_per_token": per_token * 1e6, "ratio": per_token / decode_per_token,
            "worst_case_parse_us_per_token": worst_per_token * 1e6,
            "worst_case_ratio": worst_per_token / decode_per_token,
        }  # fmt: skip
        print(
            f"parser: {per_token * 1e6:.1f} us/token against decode {decode_per_token * 1000:.1f}"
            f" ms/token = {per_token / decode_per_token:.3%} (target < 1%);"
            f" worst case (long call) {worst_per_token * 1e6:.1f} us/token ="
            f" {worst_per_token / decode_per_token:.3%}"
        )
        server = ApiServer(
            create_app(FairScheduler(engine), ApiConfig(model_id="smollm2")),
            "127.0.0.1",
            free_port(),
        )
        server.start()
        try:
            client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=600)
            local, remote = [], []
            in_process_call(engine, 99)  # warm-up: the prompt's cache, the grammar's first use
            for run in range(args.api_runs):  # interleaved
                local.append(in_process_call(engine, run))
                remote.append(api_call(client, run))
        finally:
            server.stop()
        ratio = statistics.median(remote) / statistics.median(local)
        figures["api_round_trip"] = {"openai_s": remote, "in_process_s": local, "ratio": ratio}
        print(
            f"API tool call: openai client {statistics.median(remote):.2f} s, in-process"
            f" {statistics.median(local):.2f} s (medians of {args.api_runs}, after a warm-up)"
            f" = {ratio:.2f}x"
        )
    finally:
        engine.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
