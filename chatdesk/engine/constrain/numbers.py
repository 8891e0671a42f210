"""GBNF for JSON numbers between bounds, exactly.

A JSON number is written as digits, so a numeric range becomes a language of digit strings:
``digit_span`` gives the strings of one length between two strings of that length (the
classic range-to-regular-expression split on the first differing digit); ``whole_range``
joins the lengths and the sign. ``decimal_range`` adds fractions for ``number`` schemas
whose bounds are integers: an integer part strictly inside the bounds may take any
fraction, one on an inclusive bound none, one on an exclusive lower bound a non-zero one.
Every string produced parses to a value inside the bounds; no exponents are produced.
"""

from __future__ import annotations

MAX_DIGITS = 15  # longest integer part produced when a side is unbounded
FRACTION = '"." [0-9]{1,6}'
NONZERO_FRACTION = '"." [0-9]{0,5} [1-9]'


def digit_span(low: str, high: str) -> str:
    """Digit strings of ``len(low)`` characters from ``low`` to ``high`` (inclusive)."""
    if low == high:
        return f'"{low}"'
    size = len(low)
    if low == "0" * size and high == "9" * size:
        return f"[0-9]{{{size}}}" if size > 1 else "[0-9]"
    if size == 1:
        return f"[{low}-{high}]"
    if low == "1" + "0" * (size - 1) and high == "9" * size:
        return f"[1-9] [0-9]{{{size - 1}}}"
    if low[0] == high[0]:
        return f'"{low[0]}" {digit_span(low[1:], high[1:])}'
    first, last = int(low[0]), int(high[0])
    parts = [f'"{low[0]}" {digit_span(low[1:], "9" * (size - 1))}']
    if last - first > 1:
        parts.append(f"[{first + 1}-{last - 1}] [0-9]{{{size - 1}}}")
    parts.append(f'"{high[0]}" {digit_span("0" * (size - 1), high[1:])}')
    return "(" + " | ".join(parts) + ")"


def natural_range(low: int, high: int | None) -> str:
    """Canonical (no leading zero) decimal strings of the integers in [low, high]; 0 <= low."""
    top = high if high is not None else 10**MAX_DIGITS - 1
    parts = []
    for size in range(len(str(low)), len(str(top)) + 1):
        start = max(low, 10 ** (size - 1) if size > 1 else 0)
        end = min(top, 10**size - 1)
        if start <= end:
            parts.append(digit_span(str(start), str(end)))
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


def whole_range(low: int | None, high: int | None) -> str:
    """Integers in [low, high] (either side may be open); the caller checked low <= high."""
    parts = []
    if high is None or high >= 0:
        parts.append(natural_range(max(low, 0) if low is not None else 0, high))
    if low is None or low < 0:
        least = max(-high, 1) if high is not None else 1
        parts.append('"-" ' + natural_range(least, -low if low is not None else None))
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


def _magnitudes(low: int, low_open: bool, high: int | None, high_open: bool) -> list[str]:
    """Non-negative decimals x with low <(=) x <(=) high, written I or I.F."""
    parts = []
    start = low + 1 if low_open else low
    free_top = high - 1 if high is not None else None
    if free_top is None or start <= free_top:
        parts.append(f"{natural_range(start, free_top)} ({FRACTION})?")
    if low_open and (high is None or low < high):
        parts.append(f"{natural_range(low, low)} {NONZERO_FRACTION}")
    if high is not None and not high_open and high >= start:
        parts.append(natural_range(high, high))
    return parts


def decimal_range(low: int | None, low_open: bool, high: int | None, high_open: bool) -> str | None:
    """Decimals between integer bounds; None when no value fits."""
    parts = []
    if high is None or high > 0 or (high == 0 and not high_open):
        floor, floor_open = (low, low_open) if low is not None and low >= 0 else (0, False)
        parts += _magnitudes(floor, floor_open, high, high_open)
    if low is None or low < 0:
        if high is not None and high < 0:
            floor, floor_open = -high, high_open
        else:
            floor, floor_open = 0, True
        ceiling = -low if low is not None else None
        parts += ['"-" ' + part for part in _magnitudes(floor, floor_open, ceiling, low_open)]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"
