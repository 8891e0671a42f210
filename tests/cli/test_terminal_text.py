"""Text measured and padded the way a terminal shows it."""

from __future__ import annotations

from chatdesk.cli.terminal_text import display_width, pad


def test_wide_characters_take_two_cells_and_combining_marks_none() -> None:
    assert display_width("model.gguf") == 10
    assert display_width("小模型.gguf") == 11
    assert display_width("\uff4d\uff4f\uff44\uff45\uff4c") == 10  # full-width "model"
    assert display_width("mode\u0300le") == 6  # è as e + combining grave accent


def test_pad_fills_to_a_display_width() -> None:
    assert pad("小模型", 8) == "小模型  "
    assert pad("modèle", 8) == "modèle  "
    assert pad("too long", 3) == "too long"
