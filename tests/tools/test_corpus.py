"""Every case of the tool-call corpus (tests/data/tool_calls: outputs real models wrote, from
the test data of llama.cpp, vLLM and SGLang, and recordings of the models runnable here), read
whole and streamed in several chunkings: one character at a time and random pieces.

A case passes when the valid calls are exactly the expected ones (name and arguments, in
order), unreadable calls are reported as such (never dropping their neighbours), the text a
user sees is exactly the text the model wrote outside calls and format markup, the reasoning
is parsed out, and nothing shown while streaming is taken back or holds format markup.
Each case runs with its own family's format (the format detected from the model's template)
and with the all-formats fallback used for unknown templates.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from chatdesk.tools.formats import FORMATS
from chatdesk.tools.streaming import ParsedReply, ToolCallStream

CORPUS = Path(__file__).parent.parent / "data" / "tool_calls"
FAMILIES = sorted(p.stem for p in CORPUS.glob("*.json"))
MARKUP = sorted(
    {r.opener for f in FORMATS.values() for r in f.rules if not r.literal}
    | {c for f in FORMATS.values() for r in f.rules for c in r.closers if len(c) > 3}
)


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for family in FAMILIES:
        data = json.loads((CORPUS / f"{family}.json").read_text(encoding="utf-8"))
        cases += [(data["family"], case) for case in data["cases"]]
    return cases


CASES = load_cases()


def chunkings(text: str, case_id: str) -> dict[str, list[str]]:
    rnd = random.Random(case_id)
    pieces: dict[str, list[str]] = {"whole": [text], "chars": list(text)}
    for seed in range(3):
        cuts, i = [], 0
        while i < len(text):
            n = rnd.randint(1, 9)
            cuts.append(text[i : i + n])
            i += n
        pieces[f"random{seed}"] = cuts
    return pieces


def read(case: dict[str, Any], fmt: str | None, chunks: list[str]) -> tuple[str, ParsedReply]:
    stream = ToolCallStream(fmt, thinking_open=case["thinking_open"])
    shown = "".join(stream.feed(chunk) for chunk in chunks)
    return shown, stream.finish()


def problems(case: dict[str, Any], shown: str, reply: ParsedReply) -> list[str]:
    """What differs from the expected result (empty when the case passes)."""
    found: list[str] = []
    valid = [{"name": c.name, "arguments": c.arguments} for c in reply.calls if not c.error]
    errors = [c for c in reply.calls if c.error]
    malformed = case.get("malformed")
    if malformed is True:
        found += [f"a malformed output gave valid calls {valid}"] if valid else []
    else:
        found += [f"calls {valid}"] if valid != case["calls"] else []
        found += [f"unreadable calls {len(errors)}"] if len(errors) != (malformed or 0) else []
        found += [f"reasoning {reply.reasoning!r}"] if reply.reasoning != case["reasoning"] else []
    if "content" in case and reply.content != case["content"]:
        found.append(f"content {reply.content!r}")
    if not reply.content.startswith(shown.strip()):
        found.append(f"streamed text {shown!r} was taken back")
    leaked = [m for m in MARKUP if m in reply.content and m not in case.get("content", "")]
    found += [f"markup left in the text: {leaked}"] if leaked else []
    return found


def check(family: str | None, case: dict[str, Any]) -> None:
    for name, chunks in chunkings(case["output"], case["id"]).items():
        shown, reply = read(case, family, chunks)
        assert not problems(case, shown, reply), (name, problems(case, shown, reply))


@pytest.mark.parametrize(("family", "case"), CASES, ids=[c["id"] for _f, c in CASES])
def test_case_with_its_family_format(family: str, case: dict[str, Any]) -> None:
    check(family if family in FORMATS else None, case)


@pytest.mark.parametrize(("family", "case"), CASES, ids=[c["id"] for _f, c in CASES])
def test_case_with_all_formats_watched(family: str, case: dict[str, Any]) -> None:
    check(None, case)


@pytest.mark.parametrize(
    "output",
    [
        "Wrap it in <response>...</response> tags.",
        "<response>is a tag</response> in this XML.",
        "Sure.<think>no</think><response>kept</response>",
    ],
)
def test_granite_markup_elsewhere_is_text_in_the_all_formats_reading(output: str) -> None:
    """``<response>`` is Granite's markup only right after its reasoning, before any text;
    anywhere else an unknown model's ``<response>`` is what it wrote (whole and streamed)."""
    for chunks in chunkings(output, output).values():
        shown, reply = read({"thinking_open": False}, None, chunks)
        assert "<response>" in reply.content
        assert "</response>" in reply.content
        assert reply.content.startswith(shown.strip())


def test_corpus_covers_every_family() -> None:
    counts = {family: sum(1 for f, _c in CASES if f == family) for family in FORMATS}
    assert all(count >= 5 for count in counts.values()), counts
    assert all(case["source"] for _f, case in CASES)
