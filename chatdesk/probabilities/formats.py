"""Token probabilities for people and for other programs: a text table, and OpenAI's form.

``table`` is what ``chatdesk ask --logprobs N`` prints: one line per generated token with
its probability and its most likely alternatives. ``openai_logprobs`` is the
``choices[i].logprobs`` object of OpenAI's chat-completions API (``{"content": [{"token",
"logprob", "bytes", "top_logprobs": [...]}]}``), which the local API server returns when a
request asks for ``logprobs`` (``top_logprobs`` alternatives); ``choices_from_openai``
reads that object back, for remote engines whose servers send it; ``LegacyLogprobs`` is
the legacy completions API's form (``logprobs: N`` on ``/v1/completions``). OpenAI's figures are the
model's, so the sampler's view of a remote token is reported as the model's own, and
remote tokens get ids numbered by first appearance (OpenAI sends no ids).
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Sequence
from typing import Any

from chatdesk.engine.types import MAX_LOGPROBS, Alternative, TokenChoice, raw_piece
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


def _entry(item: TokenChoice | Alternative) -> dict[str, Any]:
    """One token of OpenAI's object; ``bytes`` are the token's own (``TokenChoice.piece``),
    so that those of a reply's tokens join to its UTF-8 text even where a character is
    split over tokens (each of whose ``token`` is then U+FFFD)."""
    return {"token": item.text, "logprob": logprob(item.probability), "bytes": list(item.piece)}


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
                **_entry(choice),
                "top_logprobs": [_entry(a) for a in choice.top[:count]],
            }
            for choice in choices
        ]
    }


class LegacyLogprobs:
    """The ``logprobs`` object of OpenAI's legacy completions API, for one reply's tokens
    in order (a streamed reply's chunk by chunk, so offsets carry on): ``tokens``,
    ``token_logprobs``, ``top_logprobs`` (per token the ``alternatives`` likeliest, text
    to logprob) and ``text_offset`` (where each token starts, in characters; from
    ``offset``, the prompt's length: OpenAI counts from the prompt's start)."""

    def __init__(self, alternatives: int, offset: int) -> None:
        self.alternatives = max(0, min(alternatives, MAX_LOGPROBS))
        self.offset = offset
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def of(self, choices: Sequence[TokenChoice]) -> dict[str, Any]:
        """The object for the next ``choices`` of the reply."""
        offsets = []
        for choice in choices:
            offsets.append(self.offset)
            self.offset += len(self._decoder.decode(choice.piece))
        return {
            "tokens": [c.text for c in choices],
            "token_logprobs": [logprob(c.probability) for c in choices],
            "top_logprobs": [
                {a.text: logprob(a.probability) for a in c.top[: self.alternatives]}
                for c in choices
            ],
            "text_offset": offsets,
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
    chosen = _openai_token(item, f"logprobs.content[{n}]", ids)
    tops = item.get("top_logprobs") or []
    if not isinstance(tops, list):
        raise ProbabilityFormatError(f"logprobs.content[{n}].top_logprobs: expected a list")
    top = tuple(
        _openai_token(t, f"logprobs.content[{n}].top_logprobs[{k}]", ids)
        for k, t in enumerate(tops[:MAX_LOGPROBS])
    )
    return TokenChoice(
        chosen.token, chosen.text, chosen.probability, chosen.probability, top, top, chosen.raw
    )


def _openai_token(item: Any, where: str, ids: dict[str, int]) -> Alternative:
    """One token of the object, numbered by ``ids`` (by its bytes where they are kept)."""
    if not isinstance(item, dict) or not isinstance(item.get("token"), str):
        raise ProbabilityFormatError(f"{where}: expected an object with a token")
    value = item.get("logprob")
    if isinstance(value, bool) or not isinstance(value, int | float) or value > 1e-6:
        raise ProbabilityFormatError(f"{where}.logprob: expected a number <= 0")
    text, raw = item["token"], _openai_raw(item.get("bytes"), where)
    number = ids.setdefault(text if raw is None else f"\ufffd{raw.hex()}", len(ids))
    return Alternative(number, text, min(1.0, math.exp(value)), raw)


def _openai_raw(value: Any, where: str) -> bytes | None:
    """The token's ``bytes``, kept where they are not valid UTF-8 on their own (as the
    local engine keeps them: ``TokenChoice.raw``); None where absent or null."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in value
    ):
        raise ProbabilityFormatError(f"{where}.bytes: expected a list of byte values")
    return raw_piece(bytes(value))


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
