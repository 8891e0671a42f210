"""Token probabilities of one reply in a compact binary form, and as plain JSON.

A reply of T tokens with up to N alternatives is stored as one BLOB of packed little-endian
arrays, zlib-compressed, instead of T x N rows::

    header    "CDTP", version (u8), N (u8), 2 spare bytes, T (u32), U (u32)
    tokens    int32[T]        chosen token ids
    p         float32[T]      chosen probability (model)       sampled p float32[T]
    top       int32[T, N]     alternative ids (-1: none)       float32[T, N] probabilities
    sampled   int32[T, N]     the sampler's alternatives       float32[T, N] probabilities
    texts     int32[U] ids, uint32[U + 1] offsets, then the UTF-8 text of each id

so 500 tokens with 20 alternatives take about 40 KB (token texts are stored once per id).
Anything that does not decode raises ``ProbabilityFormatError`` (the data is untrusted:
it can come from an imported file). ``to_json`` / ``from_json`` give the form the command
line and the JSON export use: per token ``{"token", "probability", "top": [...]}``, most
probable first, plus the sampler's view.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from chatdesk.engine.types import MAX_LOGPROBS, Alternative, TokenChoice

MAGIC = b"CDTP"
VERSION = 1
HEADER = struct.Struct("<4sBBxxII")
MAX_TOKENS = 1_000_000
MAX_BLOB = 64 * 1024 * 1024


class ProbabilityFormatError(ValueError):
    """Stored or imported token probabilities that cannot be read."""


def pack(choices: Sequence[TokenChoice]) -> bytes:
    """The BLOB for a reply's token probabilities."""
    width = max((max(len(c.top), len(c.sampled_top)) for c in choices), default=0)
    count = len(choices)
    tokens = np.array([c.token for c in choices], dtype="<i4")
    chosen = np.array([c.probability for c in choices], dtype="<f4")
    sampled = np.array([c.sampled_probability for c in choices], dtype="<f4")
    top_ids, top_p = _grid([c.top for c in choices], count, width)
    s_ids, s_p = _grid([c.sampled_top for c in choices], count, width)
    texts = _text_table(choices)
    body = b"".join(
        a.tobytes() for a in (tokens, chosen, sampled, top_ids, top_p, s_ids, s_p)
    ) + _pack_texts(texts)
    return HEADER.pack(MAGIC, VERSION, width, count, len(texts)) + zlib.compress(body, 1)


def _grid(
    rows: list[tuple[Alternative, ...]], count: int, width: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    ids = np.full((count, width), -1, dtype="<i4")
    probabilities = np.zeros((count, width), dtype="<f4")
    for row, alternatives in enumerate(rows):
        for column, alternative in enumerate(alternatives):
            ids[row, column] = alternative.token
            probabilities[row, column] = alternative.probability
    return ids, probabilities


def _text_table(choices: Sequence[TokenChoice]) -> dict[int, str]:
    texts: dict[int, str] = {}
    for choice in choices:
        texts[choice.token] = choice.text
        for alternative in (*choice.top, *choice.sampled_top):
            texts.setdefault(alternative.token, alternative.text)
    return texts


def _pack_texts(texts: dict[int, str]) -> bytes:
    encoded = [text.encode("utf-8") for text in texts.values()]
    offsets = np.zeros(len(encoded) + 1, dtype="<u4")
    offsets[1:] = np.cumsum([len(e) for e in encoded], dtype=np.int64)
    ids = np.array(list(texts), dtype="<i4")
    return ids.tobytes() + offsets.tobytes() + b"".join(encoded)


def unpack(blob: bytes) -> list[TokenChoice]:
    """The token probabilities a ``pack`` BLOB holds; ``ProbabilityFormatError`` if broken."""
    if len(blob) < HEADER.size or len(blob) > MAX_BLOB:
        raise ProbabilityFormatError("token probabilities: not a probabilities record")
    magic, version, width, count, unique = HEADER.unpack_from(blob)
    if magic != MAGIC or version != VERSION or width > MAX_LOGPROBS or count > MAX_TOKENS:
        raise ProbabilityFormatError("token probabilities: unknown format or version")
    try:
        body = zlib.decompress(blob[HEADER.size :])
    except zlib.error as error:
        raise ProbabilityFormatError(f"token probabilities: corrupt data ({error})") from None
    reader = _Reader(body)
    tokens, chosen, sampled = reader.ints(count), reader.floats(count), reader.floats(count)
    top = (reader.ints(count * width), reader.floats(count * width))
    s_top = (reader.ints(count * width), reader.floats(count * width))
    texts = reader.texts(unique)
    rows = range(count)
    return [
        TokenChoice(
            token=int(tokens[i]),
            text=texts.get(int(tokens[i]), ""),
            probability=float(chosen[i]),
            sampled_probability=float(sampled[i]),
            top=_row(top, i, width, texts),
            sampled_top=_row(s_top, i, width, texts),
        )
        for i in rows
    ]


def _row(
    grid: tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]],
    row: int,
    width: int,
    texts: dict[int, str],
) -> tuple[Alternative, ...]:
    ids, probabilities = grid
    start, end = row * width, (row + 1) * width
    return tuple(
        Alternative(int(token), texts.get(int(token), ""), float(p))
        for token, p in zip(ids[start:end], probabilities[start:end], strict=True)
        if token >= 0
    )


class _Reader:
    """Reads the packed arrays one after another, checking every length."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def _take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise ProbabilityFormatError("token probabilities: the record is cut short")
        part = self.data[self.at : self.at + size]
        self.at += size
        return part

    def ints(self, count: int) -> npt.NDArray[np.int32]:
        return np.frombuffer(self._take(4 * count), dtype="<i4")

    def floats(self, count: int) -> npt.NDArray[np.float32]:
        values = np.frombuffer(self._take(4 * count), dtype="<f4")
        if not np.all(np.isfinite(values)) or np.any((values < 0) | (values > 1)):
            raise ProbabilityFormatError("token probabilities: a probability outside 0..1")
        return values

    def texts(self, unique: int) -> dict[int, str]:
        ids = self.ints(unique)
        offsets = np.frombuffer(self._take(4 * (unique + 1)), dtype="<u4")
        blob = self._take(len(self.data) - self.at)
        if unique and (np.any(np.diff(offsets.astype(np.int64)) < 0) or offsets[-1] > len(blob)):
            raise ProbabilityFormatError("token probabilities: broken token text table")
        ends = offsets.tolist()
        return {
            int(token): blob[ends[i] : ends[i + 1]].decode("utf-8", errors="replace")
            for i, token in enumerate(ids.tolist())
        }


# -- JSON -------------------------------------------------------------------------------------


def _alternatives_json(alternatives: tuple[Alternative, ...]) -> list[dict[str, Any]]:
    return [{"token": a.text, "id": a.token, "probability": a.probability} for a in alternatives]


def choice_json(choice: TokenChoice) -> dict[str, Any]:
    """One token as the command line's ``--json`` and the JSON export write it."""
    return {
        "token": choice.text,
        "id": choice.token,
        "probability": choice.probability,
        "top": _alternatives_json(choice.top),
        "sampled_probability": choice.sampled_probability,
        "sampled_top": _alternatives_json(choice.sampled_top),
    }


def to_json(choices: Sequence[TokenChoice]) -> list[dict[str, Any]]:
    """Every token of a reply, in order."""
    return [choice_json(choice) for choice in choices]


def from_json(data: Any, where: str = "tokens") -> list[TokenChoice]:
    """Token probabilities read back from ``to_json`` output; errors name the place."""
    if not isinstance(data, list):
        raise ProbabilityFormatError(f"{where}: expected a list")
    return [_choice_from_json(item, f"{where}[{n}]") for n, item in enumerate(data)]


def _choice_from_json(item: Any, where: str) -> TokenChoice:
    if not isinstance(item, dict):
        raise ProbabilityFormatError(f"{where}: expected an object")
    return TokenChoice(
        token=_token_id(item, where),
        text=_text(item, where),
        probability=_probability(item.get("probability"), f"{where}.probability"),
        sampled_probability=_probability(
            item.get("sampled_probability", 0.0), f"{where}.sampled_probability"
        ),
        top=_alternatives_from_json(item.get("top", []), f"{where}.top"),
        sampled_top=_alternatives_from_json(item.get("sampled_top", []), f"{where}.sampled_top"),
    )


def _alternatives_from_json(data: Any, where: str) -> tuple[Alternative, ...]:
    if not isinstance(data, list) or len(data) > MAX_LOGPROBS:
        raise ProbabilityFormatError(f"{where}: expected a list of at most {MAX_LOGPROBS}")
    alternatives = []
    for n, item in enumerate(data):
        place = f"{where}[{n}]"
        if not isinstance(item, dict):
            raise ProbabilityFormatError(f"{place}: expected an object")
        probability = _probability(item.get("probability"), f"{place}.probability")
        alternatives.append(Alternative(_token_id(item, place), _text(item, place), probability))
    return tuple(alternatives)


def _token_id(item: dict[str, Any], where: str) -> int:
    value = item.get("id")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ProbabilityFormatError(f"{where}.id: expected a token id")
    return value


def _text(item: dict[str, Any], where: str) -> str:
    value = item.get("token")
    if not isinstance(value, str):
        raise ProbabilityFormatError(f"{where}.token: expected a string")
    return value


def _probability(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProbabilityFormatError(f"{where}: expected a number")
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise ProbabilityFormatError(f"{where}: expected a probability between 0 and 1")
    return float(value)
