"""The pieces around one reply's decode loop: prompt progress, stop strings, the figures.

``Engine._reply`` evaluates the prompt, runs ``generation.decode_reply`` and reports;
these helpers are what it hands the loop (the stop strings, including the model's end
tokens spelled out, which are never shown as text; the progress callback for prompts
long enough to need one) and how it turns the loop's outcome and timings into the
``ReplyStats`` every client shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import llama_cpp

from chatdesk.engine.host.generation import DecodeOutcome
from chatdesk.engine.host.model import LoadedModel
from chatdesk.engine.types import PromptProgress, ReplyStats, SamplingSettings

PROGRESS_MIN_TOKENS = 64  # shorter prompts are evaluated too fast to need progress


def prompt_progress(
    total: int, report: Callable[[PromptProgress], None] | None
) -> Callable[[int], None] | None:
    """A per-chunk callback sending PromptProgress for a prompt of ``total`` new tokens, or
    None when nobody listens or the prompt is too short to need it. Reports 0 at once."""
    if report is None or total < PROGRESS_MIN_TOKENS:
        return None
    started = time.perf_counter()
    report(PromptProgress(0, total, 0.0))
    return lambda done: report(PromptProgress(done, total, time.perf_counter() - started))


def stop_strings(settings: SamplingSettings, model: LoadedModel) -> list[str]:
    """The user's stop strings plus the spelled-out end tokens (never shown as text)."""
    stops = [s for s in settings.stop if s]
    for token in (llama_cpp.llama_vocab_eos(model.vocab), llama_cpp.llama_vocab_eot(model.vocab)):
        spelled = model.token_text(int(token))
        if spelled and not settings.ignore_eos:
            stops.append(spelled)
    return stops


def reply_stats(
    outcome: DecodeOutcome,
    base: dict[str, Any],
    evaluated: int,
    started: float,
    prompt_done: float,
) -> ReplyStats:
    """Per-reply figures from the loop's outcome and the timings around it."""
    first = outcome.first_token_at
    decode_seconds = outcome.ended_at - first if first is not None else 0.0
    prompt_seconds = prompt_done - started
    after_first = max(outcome.generated - 1, 0)
    return ReplyStats(
        finish_reason=outcome.finish_reason,
        evaluated_prompt_tokens=evaluated,
        generated_tokens=outcome.generated,
        time_to_first_token=(first - started) if first is not None else None,
        prompt_seconds=prompt_seconds,
        decode_seconds=decode_seconds,
        decode_tokens_per_second=after_first / decode_seconds if decode_seconds > 0 else 0.0,
        prompt_tokens_per_second=evaluated / prompt_seconds if prompt_seconds > 0 else 0.0,
        drafted_tokens=outcome.drafted,
        accepted_tokens=outcome.accepted,
        **base,
    )
