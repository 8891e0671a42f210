"""Structured output benchmark on the real starter model: speed, compile time, validity.

    python tests/benchmarks/bench_structured.py [--repeats 3] [--replies 200]
        [--corpus-replies 2] [--skip-speed] [--skip-validity] [--skip-corpus]

- Speed: a reply constrained by a schema (temperature 0.8, fixed seeds) against an
  unconstrained reply of the same length (end-of-generation suppressed, max_tokens = the
  constrained reply's length), interleaved ``--repeats`` times (the prompt is in the KV
  cache for both); decode tok/s and tokens per CPU-second of the engine host (steadier on a
  busy machine). Target: ratio >= 0.9.
- Compile: schema -> checked grammar -> llama.cpp grammar sampler, for a 20-property
  schema (median of 30). Target: < 50 ms.
- Validity: ``--replies`` replies over 10 schemas at temperature 1.0, each checked with
  jsonschema. Target: 100% valid.
- Corpus: at least 40 schemas (ours plus JSON-Schema-Test-Suite ones, tests/data/schemas)
  through refuse-or-enforce: refused with a named keyword, or ``--corpus-replies`` replies
  that all validate.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.engine.client import EngineClient
from chatdesk.engine.constrain import SchemaRefused, check_reply, compile_schema
from chatdesk.engine.request import ChatRequest, ResponseFormat
from chatdesk.engine.types import LoadOptions, SamplingSettings
from tests.benchmarks.bench_token_probabilities import cpu_seconds
from tests.support.real_model import starter_model

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "data" / "schemas" / "json_schema_test_suite.json"
TWENTY = {
    "type": "object",
    "properties": {f"field_{i}": {"type": "string", "maxLength": 40} for i in range(20)},
    "required": [f"field_{i}" for i in range(20)],
    "additionalProperties": False,
}
LONG = {
    "type": "object",
    "properties": {"title": {"type": "string", "maxLength": 60},
                   "steps": {"type": "array", "items": {"type": "string", "maxLength": 60},
                             "minItems": 6, "maxItems": 6}},
    "required": ["title", "steps"], "additionalProperties": False,
}  # fmt: skip
S = {"type": "string", "maxLength": 30}
TEN: list[tuple[str, dict[str, Any]]] = [
    ("a person", {"type": "object", "properties": {"name": S, "age": {"type": "integer",
     "minimum": 0, "maximum": 120}}, "required": ["name", "age"], "additionalProperties": False}),
    ("a yes or no answer", {"enum": ["yes", "no"]}),
    ("a product", {"type": "object", "properties": {"name": S, "price": {"type": "number",
     "minimum": 0, "maximum": 1000}, "in_stock": {"type": "boolean"}},
     "required": ["name", "price", "in_stock"], "additionalProperties": False}),
    ("three colours", {"type": "array", "items": {"enum": ["red", "green", "blue", "black"]},
     "minItems": 3, "maxItems": 3}),
    ("a date", {"type": "string", "pattern": "^20[0-9]{2}-[01][0-9]-[0-3][0-9]$"}),
    ("a rating", {"type": "object", "properties": {"stars": {"type": "integer", "minimum": 1,
     "maximum": 5}, "comment": {"type": ["string", "null"], "maxLength": 40}},
     "required": ["stars", "comment"], "additionalProperties": False}),
    ("a point", {"type": "object", "properties": {"x": {"type": "integer", "minimum": -100,
     "maximum": 100}, "y": {"type": "integer", "minimum": -100, "maximum": 100}},
     "required": ["x", "y"], "additionalProperties": False}),
    ("a shape", {"anyOf": [{"type": "object", "properties": {"kind": {"const": "circle"},
     "r": {"type": "integer", "minimum": 1, "maximum": 9}}, "required": ["kind", "r"],
     "additionalProperties": False}, {"type": "object", "properties": {"kind": {"const": "square"},
     "side": {"type": "integer", "minimum": 1, "maximum": 9}}, "required": ["kind", "side"],
     "additionalProperties": False}]}),
    ("a small tree", {"$defs": {"n": {"type": "object", "properties": {"v": {"type": "integer",
     "minimum": 0, "maximum": 9}, "kids": {"type": "array", "items": {"$ref": "#/$defs/n"},
     "maxItems": 2}}, "required": ["v"], "additionalProperties": False}}, "$ref": "#/$defs/n"}),
    ("an address", {"type": "object", "properties": {"street": S, "zip": {"type": "string",
     "pattern": "^[0-9]{5}$"}, "country": {"enum": ["FR", "DE", "US"]}},
     "required": ["street", "zip", "country"], "additionalProperties": False}),
]  # fmt: skip
OURS_REFUSED = [
    {"type": "string", "format": "date-time"},
    {"type": "object", "minProperties": 1},
    {"type": "number", "multipleOf": 0.5},
    {"type": "string", "pattern": "^(?!x).*$"},
    {"allOf": [{"type": "string"}, {"maxLength": 3}]},
    {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
]


def reply(
    client: EngineClient, ask: str, wanted: ResponseFormat | None, settings: SamplingSettings
) -> tuple[str, Any, float]:
    """One reply: its text, its stats, and the host CPU seconds it took."""
    before = cpu_seconds(client.host_pid)
    messages = [{"role": "user", "content": ask}]
    stream = client.generate(ChatRequest.of(messages, sampling=settings, response_format=wanted))
    stats = stream.wait(timeout=900)
    return stream.text, stats, cpu_seconds(client.host_pid) - before


def speed(client: EngineClient, repeats: int) -> dict[str, Any]:
    wanted = ResponseFormat("json_schema", LONG)
    ask = "Give a recipe title and six steps, as JSON."
    on, off = [], []
    reply(client, ask, None, SamplingSettings(seed=0, max_tokens=8))  # the prompt is cached
    for seed in range(repeats):
        _, stats, cpu = reply(client, ask, wanted, SamplingSettings(seed=seed, max_tokens=400))
        count = stats.generated_tokens
        free = SamplingSettings(seed=seed, max_tokens=count, ignore_eos=True)
        _, free_stats, free_cpu = reply(client, ask, None, free)
        if seed % 2:  # alternate which goes first (a busy machine drifts)
            _, stats, cpu = reply(client, ask, wanted, SamplingSettings(seed=seed, max_tokens=400))
        on.append((stats.decode_tokens_per_second, stats.generated_tokens / cpu if cpu else 0.0))
        off.append((free_stats.decode_tokens_per_second, count / free_cpu if free_cpu else 0.0))
        print(f"  {count} tokens: schema {on[-1][0]:6.1f} tok/s {on[-1][1]:6.1f} tok/CPU-s   "
              f"free {off[-1][0]:6.1f} tok/s {off[-1][1]:6.1f} tok/CPU-s", flush=True)  # fmt: skip
    ratios = [statistics.median(o[i] for o in on) / statistics.median(o[i] for o in off)
              for i in (0, 1)]  # fmt: skip
    return {"schema_tok_s": [o[0] for o in on], "free_tok_s": [o[0] for o in off],
            "ratio_tok_s": ratios[0], "ratio_tok_per_cpu_s": ratios[1]}  # fmt: skip


def compile_time(model_path: Path) -> dict[str, Any]:
    from tests.support.grammar_check import GrammarChecker

    checker = GrammarChecker(model_path)
    times = []
    for _ in range(30):
        started = time.perf_counter()
        assert checker.parses(compile_schema(TWENTY).grammar)
        times.append(time.perf_counter() - started)
    checker.close()
    return {
        "compile_ms_median": statistics.median(times) * 1000,
        "compile_ms_max": max(times) * 1000,
    }


def validity(client: EngineClient, replies: int) -> dict[str, Any]:
    counts = {"valid": 0, "invalid": 0, "incomplete": 0}
    failures = []
    for index in range(replies):
        what, schema = TEN[index % len(TEN)]
        constraint = compile_schema(schema)
        settings = SamplingSettings(temperature=1.0, seed=index, max_tokens=300)
        text, stats, _ = reply(client, f"Answer with {what}, as JSON.", ResponseFormat(
            "json_schema", schema), settings)  # fmt: skip
        verdict = check_reply(text, constraint, stats.finish_reason)
        counts[verdict.status] += 1
        if not verdict.valid:
            failures.append({"schema": what, "text": text, "error": verdict.error})
    print(f"  validity: {counts}", flush=True)
    return {"replies": replies, **counts, "failures": failures[:5]}


def corpus() -> list[dict[str, Any]]:
    suite = json.loads(SUITE.read_text())["schemas"]
    ours = [{"source": "ours", "description": what, "schema": s} for what, s in TEN]
    ours += [{"source": "ours", "description": "refused", "schema": s} for s in OURS_REFUSED]
    ours.append({"source": "ours", "description": "20 properties", "schema": TWENTY})
    return ours + suite


def refuse_or_enforce(client: EngineClient, per_schema: int) -> dict[str, Any]:
    rows = []
    for entry in corpus():
        try:
            constraint = compile_schema(entry["schema"])
        except SchemaRefused as refused:
            rows.append({**entry, "outcome": "refused", "keyword": refused.keyword,
                         "path": refused.path})  # fmt: skip
            continue
        statuses = []
        schema = entry["schema"] if entry["schema"] is not True else {}  # the same schema
        for seed in range(per_schema):
            settings = SamplingSettings(temperature=1.0, seed=seed, max_tokens=300)
            text, stats, _ = reply(client, "Answer in JSON.", ResponseFormat(
                "json_schema", schema), settings)  # fmt: skip
            statuses.append(check_reply(text, constraint, stats.finish_reason).status)
        outcome = "enforced" if all(s == "valid" for s in statuses) else "FAILED"
        rows.append({**entry, "outcome": outcome, "statuses": statuses})
    summary = {k: sum(r["outcome"] == k for r in rows) for k in ("refused", "enforced", "FAILED")}
    print(f"  corpus of {len(rows)}: {summary}", flush=True)
    for row in rows:
        detail = row.get("keyword") or ",".join(row.get("statuses", []))
        print(f"    {row['outcome']:8s} {row['source'].split('/')[-1]:28s} "
              f"{row['description'][:50]:50s} {detail}")  # fmt: skip
    return {"schemas": len(rows), **summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--corpus-replies", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    for part in ("speed", "validity", "corpus"):
        parser.add_argument(f"--skip-{part}", action="store_true")
    args = parser.parse_args()
    path, why_not = starter_model()
    if path is None:
        sys.exit(f"no starter model: {why_not}")
    figures: dict[str, Any] = {"compile": compile_time(path)}
    print(f"  compile (20 properties): {figures['compile']}", flush=True)
    client = EngineClient(auto_reload=False)
    try:
        client.load(LoadOptions(path, n_ctx=2048, n_threads=args.threads)).result()
        if not args.skip_speed:
            figures["speed"] = speed(client, args.repeats)
        if not args.skip_validity:
            figures["validity"] = validity(client, args.replies)
        if not args.skip_corpus:
            figures["corpus"] = refuse_or_enforce(client, args.corpus_replies)
    finally:
        client.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
