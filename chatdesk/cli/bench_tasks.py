"""``chatdesk bench --task``: speculative decoding on the work users do, with against without.

Four tasks, each one conversation sent to one engine host: ``rewrite`` (correct a passage's
spelling), ``code-edit`` (rename a variable in a function), ``rag`` (answer from retrieved
passages in the system prompt, quoting them) and ``chat`` (an open question). The edit and
document tasks use greedy sampling without a repetition penalty (what an edit or a
document answer is sent with); ``chat`` uses the app's default sampling (temperature 0.8,
top-k 40, top-p 0.95, min-p 0.05, repetition penalty 1.1) with a fixed seed.

Each round sends the task twice, once with ``speculative`` off and once on, the order
reversed every round, to the same loaded model; the prompt is cached after the first
request, so both sides measure decoding only. Both replies are the same text (speculative
decoding does not change the output; the benchmark checks it). The figure per side is the
host's decode rate (tokens after the first over the time since the first); the ratio is
the median with over the median without.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Any

from chatdesk.cli.errors import CLIError
from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import EngineError, ReplyStats, SamplingSettings

TASKS = ("rewrite", "code-edit", "rag", "chat")

_PASSAGE = (
    "Our team met on tusday to discus the new schedule for the spring term. Every student "
    "will have a advisor who meets with them once a week, and the library will stay open "
    "untill ten in the evening during exam weeks. The cafeteria menu will change every "
    "monday, and vegetarian meals will be available at every lunch. Parents are welcome "
    "to visit the school on the first friday of each month, when teachers are available "
    "to answer questions about there child's progress."
)
_CODE = """def order_total(items, tax_rate):
    total = 0
    for item in items:
        price = item["price"] * item["quantity"]
        if item.get("discount"):
            price = price - price * item["discount"]
        total = total + price
    total = total + total * tax_rate
    return round(total, 2)


def print_receipt(items, tax_rate):
    for item in items:
        print(item["name"], item["quantity"], item["price"])
    print("Total:", order_total(items, tax_rate))
"""
_DOCUMENTS = (
    "[1] Returns policy: Items can be returned within 30 days of delivery for a full refund, "
    "provided they are unused and in their original packaging. Refunds are paid to the "
    "original payment method within five working days of the return being received.\n"
    "[2] Shipping: Standard shipping takes three to five working days and is free for orders "
    "over 50 euros. Express shipping takes one working day and costs 9 euros.\n"
    "[3] Warranty: Electronic items carry a two-year warranty covering manufacturing faults. "
    "The warranty does not cover accidental damage, water damage or normal wear."
)


@dataclass(frozen=True)
class Task:
    """One benchmark conversation and the sampling it is sent with."""

    messages: list[dict[str, str]]
    system_prompt: str
    sampling: SamplingSettings


EDIT_SAMPLING = SamplingSettings(temperature=0.0, repeat_penalty=1.0, seed=7)


def task(name: str, tokens: int) -> Task:
    """The conversation of task ``name``, replies capped at ``tokens``."""
    edit = replace(EDIT_SAMPLING, max_tokens=tokens)
    if name == "rewrite":
        ask = "Correct the spelling mistakes in this text and write out the corrected text:\n\n"
        return Task([{"role": "user", "content": ask + _PASSAGE}], "", edit)
    if name == "code-edit":
        ask = "Rename the variable `total` to `amount` in this code and show the whole code:\n\n"
        return Task([{"role": "user", "content": f"{ask}```python\n{_CODE}```"}], "", edit)
    if name == "rag":
        system = (
            "Answer from the documents below. Quote the sentences you use, word for word, "
            "and cite them by number.\n\n" + _DOCUMENTS
        )
        question = "How long do I have to return an item, and how is the refund paid?"
        return Task([{"role": "user", "content": question}], system, edit)
    if name == "chat":
        chat = SamplingSettings(seed=7, max_tokens=tokens)
        ask = "What are some good habits for staying focused while working from home?"
        return Task([{"role": "user", "content": ask}], "", chat)
    raise CLIError(f"unknown task {name!r}: choose one of {', '.join(TASKS)}")


def one_reply(client: EngineClient, job: Task, speculative: bool) -> tuple[ReplyStats, str]:
    """Send the task once; its figures and text."""
    sampling = replace(job.sampling, speculative=speculative)
    request = ChatRequest.of(job.messages, system_prompt=job.system_prompt, sampling=sampling)
    stream = client.generate(request)
    try:
        stats = stream.wait(timeout=600)
    except EngineError as error:
        raise CLIError(f"the {job.messages[0]['content'][:20]!r} reply failed: {error}") from None
    return stats, stream.text


def task_rounds(client: EngineClient, job: Task, repeats: int) -> dict[bool, list[ReplyStats]]:
    """Interleaved rounds of the task with speculative decoding off and on."""
    one_reply(client, job, False)  # warm-up: the prompt goes into the KV cache
    runs: dict[bool, list[ReplyStats]] = {False: [], True: []}
    texts: dict[bool, str] = {}
    for number in range(repeats):
        for speculative in (False, True) if number % 2 == 0 else (True, False):
            stats, texts[speculative] = one_reply(client, job, speculative)
            runs[speculative].append(stats)
        if job.sampling.temperature <= 0 and texts[False] != texts[True]:
            raise CLIError("speculative decoding changed a greedy reply (please report this)")
    return runs


def speculative_result(
    name: str, runs: dict[bool, list[ReplyStats]], gate: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``speculative: {task, ratio, drafted, accepted, ...}`` for ``--json``; ``gate`` is
    what the host found about the model (its status' ``speculation``: exact, batch cost)."""
    rates = {side: [s.decode_tokens_per_second for s in items] for side, items in runs.items()}
    with_, without = statistics.median(rates[True]), statistics.median(rates[False])
    last = runs[True][-1]
    return {
        "task": name,
        "ratio": with_ / without if without else None,
        "drafted": last.drafted_tokens,
        "accepted": last.accepted_tokens,
        "generated": last.generated_tokens,
        "tokens_per_second": with_,
        "plain_tokens_per_second": without,
        "spread": [min(rates[True]), max(rates[True])],
        "plain_spread": [min(rates[False]), max(rates[False])],
        "repeats": len(rates[True]),
        "gate": gate,
    }


def gate_text(gate: dict[str, Any] | None) -> str:
    """Why a model did or did not speculate, for people."""
    if not gate:
        return ""
    slope = gate.get("batch_slope")
    cost = f", a batch token costs {slope:.2f} of one alone" if slope is not None else ""
    return (
        f" (speculation {gate.get('mode')}: on={gate.get('on')}, exact={gate.get('exact')}{cost})"
    )


def task_result(client: EngineClient, name: str, job: Task, repeats: int) -> dict[str, Any]:
    """Interleaved rounds of one task on a loaded host; its ``speculative`` figures."""
    runs = task_rounds(client, job, repeats)
    return speculative_result(name, runs, client.status().result().get("speculation"))


def print_speculative(result: dict[str, Any]) -> None:
    """The task figures for people."""
    print(
        f"task {result['task']}: {result['tokens_per_second']:.1f} tok/s with speculative "
        f"decoding ({result['spread'][0]:.1f}-{result['spread'][1]:.1f}), "
        f"{result['plain_tokens_per_second']:.1f} without "
        f"({result['plain_spread'][0]:.1f}-{result['plain_spread'][1]:.1f}): "
        f"ratio {result['ratio']:.2f}; drafted {result['drafted']}, accepted "
        f"{result['accepted']} of {result['generated']} generated{gate_text(result['gate'])}",
        flush=True,
    )
