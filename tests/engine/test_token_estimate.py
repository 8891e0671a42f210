"""The token estimate used where no tokenizer counts, against real tokenizers.

One paragraph in each of 14 kinds of text (``tests/data/text/kinds_of_text.json``) is
estimated and counted by the real models' own tokenizers (llama.cpp, vocabulary only).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatdesk.engine.context_fit import MESSAGE_OVERHEAD
from chatdesk.engine.token_estimate import estimate_tokens
from tests.support.real_model import GEMMA_270M, STARTER, StarterModel, starter_model

llama_cpp = pytest.importorskip("llama_cpp")

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "text" / "kinds_of_text.json"


def kinds_of_text() -> dict[str, str]:
    samples = json.loads(SAMPLES.read_text(encoding="utf-8"))["samples"]
    return {entry["kind"]: entry["text"] for entry in samples.values()}


def ratios(model: StarterModel) -> dict[str, float]:
    """Estimate over the model's count, per kind of text."""
    path, why_not = starter_model(model)
    if path is None:
        pytest.skip(why_not)
    vocab = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    return {
        kind: estimate_tokens(text) / len(vocab.tokenize(text.encode(), add_bos=False))
        for kind, text in kinds_of_text().items()
    }


def test_the_estimate_is_near_a_current_vocabulary_s_count_in_every_script() -> None:
    # Gemma 3's 262k vocabulary is what current models (Llama 3, Qwen, Gemma) are like.
    # Four characters a token gave Chinese 0.30 of its count and CSV figures 0.32.
    found = ratios(GEMMA_270M)
    assert all(0.85 <= ratio <= 2.3 for ratio in found.values()), found
    within = [kind for kind, ratio in found.items() if ratio <= 1.35]
    assert len(within) >= 10, found  # Arabic, Hindi, Thai and Russian are over-counted


def test_figures_and_code_are_not_under_counted_by_a_small_vocabulary() -> None:
    # SmolLM2's 49k English vocabulary: figures and code took 2.6-3 times four characters
    # a token; other scripts take up to 3.3 times the estimate (the remote engine learns
    # that from the server's usage).
    found = ratios(STARTER)
    for kind in ("English prose", "Python", "CSV figures", "German"):
        assert 0.6 <= found[kind] <= 1.3, (kind, found)
    assert min(found.values()) >= 0.3, found


def test_each_kind_of_character_counts_at_its_own_rate() -> None:
    assert estimate_tokens("") == 1
    assert estimate_tokens("word " * 90) == 100  # letters and spaces: 4.5 to a token
    assert estimate_tokens("1,2;3\n" * 10) == 60  # digits and punctuation: one each
    assert estimate_tokens("灯塔" * 20) == 30  # 3 UTF-8 bytes each, 4 bytes to a token
    assert estimate_tokens("маяк" * 25) == 50  # 2 bytes each
    assert estimate_tokens("word " * 90, scale=3) == 300
    assert estimate_tokens("\ud800 lone surrogate") >= 1  # untrusted text never raises


def test_a_chatml_message_s_markers_cost_what_the_context_fit_allows_a_message() -> None:
    # The remote engine estimates a request rendered as ChatML; its markers are one token
    # each in a template, not 6 punctuation marks and a word.
    text = "turn 12: a short remark."
    framed = f"<|im_start|>assistant\n{text}<|im_end|>\n"
    assert estimate_tokens(framed) - estimate_tokens(text) <= MESSAGE_OVERHEAD
