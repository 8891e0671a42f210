"""Probability bands for showing tokens: each band has a tint and a non-colour cue.

The view tints a token by its band and also underlines it in the band's own style (none,
dotted, dashed, wavy) so the bands stay apart without colour; the legend lists them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    """Tokens with probability >= ``floor`` (and below the previous band's floor)."""

    floor: float
    label: str
    underline: str  # "none", "dotted", "dashed", "wavy"


BANDS: tuple[Band, ...] = (
    Band(0.8, "likely (80% or more)", "none"),
    Band(0.5, "probable (50-80%)", "dotted"),
    Band(0.2, "uncertain (20-50%)", "dashed"),
    Band(0.0, "unlikely (under 20%)", "wavy"),
)


def band_of(probability: float) -> int:
    """The index in ``BANDS`` of the band a probability falls in."""
    for index, band in enumerate(BANDS):
        if probability >= band.floor:
            return index
    return len(BANDS) - 1


def percent(probability: float) -> str:
    """A probability as the view writes it: ``42.0%``, ``0.3%``, ``<0.1%``."""
    if 0 < probability < 0.001:
        return "<0.1%"
    return f"{probability * 100:.1f}%"
