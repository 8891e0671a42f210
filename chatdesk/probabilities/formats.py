"""Token probabilities for people and for other programs: a text table, and OpenAI's form.

``table`` is what ``chatdesk ask --logprobs N`` prints: one line per generated token with
its probability and its most likely alternatives. ``openai_logprobs`` is the
``choices[i].logprobs`` object of OpenAI's chat-completions API (``{"content": [{"token",
"logprob", "bytes", "top_logprobs": [...]}]}``), which the local API server returns when a
request asks for ``logprobs`` (``top_logprobs`` alternatives); ``choices_from_openai``
reads that object back, for remote engines whose servers send it. OpenAI's figures are the
model's, so the sampler's view of a remote token is reported as the model's own, and
remote tokens get ids numbered by first appearance (OpenAI sends no ids).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from chatdesk.engine.types import MAX_LOGPROBS, Alternative, TokenChoice
from chatdesk.probabilities.bands import percent
from chatdesk.probabilities.codec import ProbabilityFormatError

LOWEST_LOGPROB = -9999.0  # what OpenAI reports for a probability too small to matter
TABLE_ALTERNATIVES = 5


def _quoted(text: str) -> str:
    """A token's text for the table: quoted, with whitespace escaped (``" Paris"``)."""
    return '"' + text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") + '"'


def table(choices: Sequence[TokenChoice], alternatives: int = TABLE_ALTERNATIVES) -> str:
    """One line per token: number, token, probability, then its top alternatives."""
    width = max((len(_quoted(c.text)) for c in choices), default=5)
    lines = [f"{'#':>4}  {'token':<{width}}  {'prob':>6}  alternatives"]
    for number, choice in enumerate(choices, 1):
        others = "  ".join(
            f"{_quoted(a.text)} {percent(a.probability)}" for a in choice.top[:alternatives]
        )
        lines.append(
            f"{number:>4}  {_quoted(choice.text):<{width}}  "
            f"{percent(choice.probability):>6}  {others}"
        )
    return "\n".join(lines)


def logprob(probability: float) -> float:
    """ln(p), with OpenAI's floor for zero."""
    return max(math.log(probability), LOWEST_LOGPROB) if probability > 0 else LOWEST_LOGPROB


def _entry(text: str, probability: float) -> dict[str, Any]:
    return {"token": text, "logprob": logprob(probability), "bytes": list(text.encode("utf-8"))}


def requested_alternatives(logprobs: bool | None, top_logprobs: int | None) -> int:
    """``SamplingSettings.logprobs`` for an OpenAI request's ``logprobs`` / ``top_logprobs``
    (0: not asked; at least 1, since the chosen token's own probability needs the probe)."""
    if not logprobs:
        return 0
    return max(1, min(top_logprobs or 0, MAX_LOGPROBS))


def openai_logprobs(choices: Sequence[TokenChoice], top_logprobs: int = 0) -> dict[str, Any]:
    """OpenAI's ``logprobs`` object for a reply, with ``top_logprobs`` alternatives each."""
    count = max(0, min(top_logprobs, MAX_LOGPROBS))
    return {
        "content": [
            {
                **_entry(choice.text, choice.probability),
                "top_logprobs": [_entry(a.text, a.probability) for a in choice.top[:count]],
            }
            for choice in choices
        ]
    }


def choices_from_openai(data: Any, ids: dict[str, int] | None = None) -> list[TokenChoice]:
    """Token probabilities from OpenAI's ``logprobs`` object (a server's, so untrusted).

    ``ids`` numbers token texts; pass the same dict for every chunk of one streamed reply.
    """
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, list):
        raise ProbabilityFormatError("logprobs: expected an object with a content list")
    numbering = {} if ids is None else ids
    return [_openai_choice(item, n, numbering) for n, item in enumerate(content)]


def _openai_choice(item: Any, n: int, ids: dict[str, int]) -> TokenChoice:
    token, probability = _openai_pair(item, f"logprobs.content[{n}]")
    tops = item.get("top_logprobs") or []
    if not isinstance(tops, list):
        raise ProbabilityFormatError(f"logprobs.content[{n}].top_logprobs: expected a list")
    pairs = [
        _openai_pair(t, f"logprobs.content[{n}].top_logprobs[{k}]")
        for k, t in enumerate(tops[:MAX_LOGPROBS])
    ]
    top = tuple(Alternative(ids.setdefault(text, len(ids)), text, p) for text, p in pairs)
    number = ids.setdefault(token, len(ids))
    return TokenChoice(number, token, probability, probability, top, top)


def _openai_pair(item: Any, where: str) -> tuple[str, float]:
    if not isinstance(item, dict) or not isinstance(item.get("token"), str):
        raise ProbabilityFormatError(f"{where}: expected an object with a token")
    value = item.get("logprob")
    if isinstance(value, bool) or not isinstance(value, int | float) or value > 1e-6:
        raise ProbabilityFormatError(f"{where}.logprob: expected a number <= 0")
    return item["token"], min(1.0, math.exp(value))


def changed_choice(choice: TokenChoice) -> str:
    """Why a chosen token is not the model's own favourite, or "" when it is.

    The model's distribution (``top``) is what the logits say; the sampler chose from its own
    (``sampled_top``), after repeat/presence/frequency penalties, a grammar or schema, top-k,
    top-p, min-p and temperature. When the chosen token is not the model's most likely one,
    the choice was made from that other distribution, and the reader should be told so."""
    if not choice.top or choice.top[0].token == choice.token:
        return ""
    favourite = choice.top[0]
    greedy = choice.sampled_probability >= 0.999
    why = (
        "penalties or a grammar changed the choice (at temperature 0 the likeliest token "
        "would otherwise win)"
        if greedy
        else "the sampler drew it from its own distribution (penalties, a grammar, top-k, "
        "top-p, min-p and temperature all shape it)"
    )
    return (
        f"The model's favourite was “{favourite.text}” ({percent(favourite.probability)}), "
        f"not this token: {why}. The chart shows the distribution the choice was made from."
    )
